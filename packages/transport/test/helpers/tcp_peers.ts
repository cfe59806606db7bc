import { type ChildProcess, fork } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { EndpointAddress } from '../../src/index.js';

const fixture = fileURLToPath(new URL('../../dist-test/fixtures/tcp_peer.js', import.meta.url));
const CALL_TIMEOUT_MS = 30_000;

export class PeerError extends Error {
  constructor(
    readonly code: string | undefined,
    message: string,
  ) {
    super(message);
  }
}

/** A child process with its own pool and a tcp endpoint (test/fixtures/tcp_peer.ts), driven by RPC over IPC. */
export class PeerProcess {
  private nextId = 0;
  private readonly pending = new Map<number, { resolve: (v: any) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  stderr = '';
  address!: EndpointAddress;
  key = 0;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  private constructor(readonly child: ChildProcess) {
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (this.stderr += d));
    child.on('message', (msg: { id?: number; result?: unknown; error?: { code?: string; message: string } }) => {
      if (msg.id === undefined) return;
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      clearTimeout(p.timer);
      if (msg.error) p.reject(new PeerError(msg.error.code, msg.error.message));
      else p.resolve(msg.result);
    });
    this.exited = new Promise((resolve) =>
      child.on('exit', (code, signal) => {
        for (const p of this.pending.values()) {
          clearTimeout(p.timer);
          p.reject(new Error(`peer process ${child.pid} exited (${signal ?? code}) during a call; stderr:\n${this.stderr}`));
        }
        this.pending.clear();
        resolve({ code, signal });
      }),
    );
  }

  /** Starts the process (COLLECTIVE_SOCKET_IFNAME=lo unless `env` says otherwise) and waits until it listens for calls. */
  static async start(env: NodeJS.ProcessEnv = {}): Promise<PeerProcess> {
    const child = fork(fixture, [], { env: { ...process.env, COLLECTIVE_SOCKET_IFNAME: 'lo', ...env }, stdio: ['ignore', 'inherit', 'pipe', 'ipc'] });
    const peer = new PeerProcess(child);
    await new Promise<void>((resolve, reject) => {
      child.once('message', () => resolve());
      child.once('exit', (code) => reject(new Error(`peer process exited (${code}) before it was ready; stderr:\n${peer.stderr}`)));
    });
    return peer;
  }

  get pid(): number {
    return this.child.pid!;
  }

  call(method: string, ...args: unknown[]): Promise<any> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`peer ${this.pid}: ${method} did not answer within ${CALL_TIMEOUT_MS} ms; stderr:\n${this.stderr}`));
      }, CALL_TIMEOUT_MS);
      this.pending.set(id, { resolve, reject, timer });
      this.child.send({ id, method, args });
    });
  }

  /** setup() in the child: a buffer of `bytes` registered on an enabled tcp endpoint. */
  async setup(bytes: number, access?: string[]): Promise<this> {
    const r = await this.call('setup', bytes, ...(access ? [access] : []));
    this.address = r.address;
    this.key = r.key;
    return this;
  }

  /** Ends the process abruptly (SIGKILL), as a crash would. */
  kill(): void {
    this.child.kill('SIGKILL');
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    // A process killed a moment ago has lost its channel before its exit is
    // reported: disconnecting then throws, and only the exit is left to wait for.
    if (this.child.connected) this.child.disconnect();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 3000);
    await this.exited;
    clearTimeout(timer);
  }
}

/** Two processes, each with a tcp endpoint and a region of `bytes`, each with the other at fi_addr 0. */
export async function startPair(bytes: number, env: NodeJS.ProcessEnv = {}, access?: [string[]?, string[]?]): Promise<[PeerProcess, PeerProcess]> {
  const [a, b] = await Promise.all([PeerProcess.start(env), PeerProcess.start(env)]);
  await Promise.all([a.setup(bytes, access?.[0]), b.setup(bytes, access?.[1])]);
  await a.call('insert', b.address);
  await b.call('insert', a.address);
  return [a, b];
}

/**
 * Established TCP connections of process `pid` whose local or remote port
 * is `port` (from /proc: the process's socket inodes matched against the
 * kernel's TCP tables).
 */
export function establishedTo(pid: number, port: number): number {
  const inodes = socketInodes(pid);
  let n = 0;
  for (const table of ['tcp', 'tcp6']) {
    const lines = readFileSync(`/proc/${pid}/net/${table}`, 'utf8').trim().split('\n').slice(1);
    for (const line of lines) {
      const f = line.trim().split(/\s+/);
      const local = parseInt(f[1]!.split(':')[1]!, 16);
      const remote = parseInt(f[2]!.split(':')[1]!, 16);
      if (f[3] === '01' && inodes.has(f[9]!) && (local === port || remote === port)) n++;
    }
  }
  return n;
}

/** The socket inodes among a process's descriptors. */
function socketInodes(pid: number): Set<string> {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]!);
    } catch {
      // fds come and go while we look
    }
  }
  return inodes;
}

/** Connected Unix stream sockets of process `pid` (its IPC channel with the test is one of them). */
export function unixConnected(pid: number): number {
  const inodes = socketInodes(pid);
  let n = 0;
  for (const line of readFileSync(`/proc/${pid}/net/unix`, 'utf8').trim().split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    // Num RefCount Protocol Flags Type St Inode [Path]: stream (0001), connected (03).
    if (f[4] === '0001' && f[5] === '03' && inodes.has(f[6]!)) n++;
  }
  return n;
}
