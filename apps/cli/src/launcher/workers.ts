import { type ChildProcess, spawn } from 'node:child_process';
import { constants } from 'node:os';
import type { Writable } from 'node:stream';
import { LinePrefixer } from './line_prefixer.js';

export interface WorkerSpec {
  rank: number;
  localRank: number;
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
}

/** How a worker ended; `code` is its exit status, or 128 + the signal that killed it. */
export interface WorkerExit {
  rank: number;
  pid: number | undefined;
  code: number;
  signal: NodeJS.Signals | null;
  /** set when the worker could not be started at all */
  spawnError?: string;
}

export function exitCodeOf(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  const n = signal === null ? undefined : constants.signals[signal];
  return n === undefined ? 1 : 128 + n;
}

interface Running {
  spec: WorkerSpec;
  child: ChildProcess;
  done: Promise<WorkerExit>;
  exited: boolean;
}

/**
 * The workers of one node. Each runs in its own process group, so a stop or
 * a forwarded signal reaches whatever the worker itself started.
 */
export class LocalWorkers {
  private readonly running: Running[] = [];

  constructor(
    private readonly out: { stdout: Writable; stderr: Writable; prefix: boolean },
  ) {}

  start(specs: readonly WorkerSpec[]): void {
    for (const spec of specs) {
      const child = spawn(spec.command, spec.args, { env: spec.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
      const w: Running = { spec, child, exited: false, done: Promise.resolve(undefined as never) };
      w.done = new Promise<WorkerExit>((resolve) => {
        let spawnError: string | undefined;
        child.once('error', (e: NodeJS.ErrnoException) => {
          spawnError = e.code === 'ENOENT' ? `cannot start '${spec.command}': not found (is it on PATH?)` : `cannot start '${spec.command}': ${e.message}`;
          // A child that never started emits no 'close' when it has no pipes left open.
          if (child.pid === undefined) finish(null, null);
        });
        let finished = false;
        const finish = (code: number | null, signal: NodeJS.Signals | null) => {
          if (finished) return;
          finished = true;
          w.exited = true;
          const exit: WorkerExit = { rank: spec.rank, pid: child.pid, code: spawnError ? 127 : exitCodeOf(code, signal), signal };
          if (spawnError) exit.spawnError = spawnError;
          resolve(exit);
        };
        // 'close' comes after the output pipes have drained, so no line is lost.
        child.once('close', finish);
      });
      this.pipe(child, spec.rank);
      this.running.push(w);
    }
  }

  private pipe(child: ChildProcess, rank: number): void {
    const streams: [NodeJS.ReadableStream | null, Writable][] = [
      [child.stdout, this.out.stdout],
      [child.stderr, this.out.stderr],
    ];
    for (const [from, to] of streams) {
      if (from === null) continue;
      const source = this.out.prefix ? from.pipe(new LinePrefixer(Buffer.from(`[rank ${rank}] `))) : from;
      source.pipe(to, { end: false });
    }
  }

  /** Resolves with the first failure, or with undefined once every worker succeeded. */
  async firstFailure(): Promise<WorkerExit | undefined> {
    return new Promise((resolve) => {
      let left = this.running.length;
      if (left === 0) resolve(undefined);
      for (const w of this.running) {
        void w.done.then((exit) => {
          if (exit.code !== 0) resolve(exit);
          else if (--left === 0) resolve(undefined);
        });
      }
    });
  }

  /** Sends `signal` to every worker still running (to its whole process group). */
  signal(signal: NodeJS.Signals): void {
    for (const w of this.running) {
      if (w.exited || w.child.pid === undefined) continue;
      try {
        process.kill(-w.child.pid, signal);
      } catch {
        try {
          w.child.kill(signal);
        } catch {
          // already gone
        }
      }
    }
  }

  /** SIGTERM to the workers still running, SIGKILL to any still there after `graceMs`. */
  async stop(graceMs: number): Promise<void> {
    this.signal('SIGTERM');
    const all = Promise.all(this.running.map((w) => w.done));
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), graceMs);
    });
    if ((await Promise.race([all, late])) === 'late') {
      this.signal('SIGKILL');
      await all;
    }
    clearTimeout(timer);
  }

  /** every worker's exit, once all have ended */
  all(): Promise<WorkerExit[]> {
    return Promise.all(this.running.map((w) => w.done));
  }
}
