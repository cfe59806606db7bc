// A job that survives losing a process: run it under collective-run with
// --max-restarts, and when a worker dies the launcher stops the others and
// starts them all again; they pick up from the last checkpoint.
//   collective-run --standalone --nproc-per-node 2 --max-restarts 2 \
//     node examples/dist/elastic_checkpoint.js --checkpoint /tmp/elastic.json
//
// Step s (from 1) all-reduces (rank + 1) · s from every process and adds the
// sum to a running total. Every --every steps rank 0 writes {step, total} to
// the checkpoint file; a fresh attempt takes rank 0's checkpoint, shared with
// the others by an all-reduce (they add zeros), so only rank 0's node needs
// the file. A finished run leaves its last checkpoint behind: delete the file
// to start over.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { World } from '@collective/runtime';
import { isMain, runMain } from './run_as_main.js';

export interface CheckpointedRun {
  steps: number;
  /** write a checkpoint after every `every` steps */
  every: number;
  /** path of rank 0's checkpoint file */
  checkpoint: string;
  /** pause after each step, so that a run lasts long enough to be interrupted */
  stepMs: number;
}

interface Checkpoint {
  step: number;
  total: number;
  worldSize: number;
}

/** What the total must be after `steps` steps on `worldSize` processes, restarts or not. */
export function expectedTotal(worldSize: number, steps: number): number {
  return ((worldSize * (worldSize + 1)) / 2) * ((steps * (steps + 1)) / 2);
}

function readCheckpoint(path: string, worldSize: number): Checkpoint | undefined {
  if (!existsSync(path)) return undefined;
  const c = JSON.parse(readFileSync(path, 'utf8')) as Checkpoint;
  if (c.worldSize !== worldSize) throw new Error(`${path} was written by a job of ${c.worldSize} processes, not ${worldSize}; remove it to start over`);
  return c;
}

function writeCheckpoint(path: string, c: Checkpoint): void {
  // A rename replaces the file whole, so a kill mid-write leaves the last checkpoint intact.
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(c));
  renameSync(tmp, path);
}

/** Runs this process's part of the job; returns the total every process agrees on, and the job's size. */
export async function runCheckpointed(run: CheckpointedRun): Promise<{ total: number; worldSize: number }> {
  const attempt = Number(process.env.COLLECTIVE_RESTART_COUNT ?? 0);
  const world = await World.join({ devices: 1, poolBytes: 8 << 20, timeoutMs: 30_000 });
  try {
    const rank = world.rankOffset;
    const size = world.size;
    // Rank 0's checkpoint, or zeros; the all-reduce hands it to everyone.
    const mine = rank === 0 ? readCheckpoint(run.checkpoint, size) : undefined;
    const [start] = await world.allReduce([Float64Array.of(mine?.step ?? 0, mine?.total ?? 0)]);
    let step = start![0]!;
    let total = start![1]!;
    console.log(`rank ${rank} pid ${process.pid} attempt ${attempt} starts after step ${step}`);
    while (step < run.steps) {
      step++;
      const [sum] = await world.allReduce([Float64Array.of((rank + 1) * step)]);
      total += sum![0]!;
      if (rank === 0 && step % run.every === 0) {
        writeCheckpoint(run.checkpoint, { step, total, worldSize: size });
        console.log(`checkpoint at step ${step}`);
      }
      if (run.stepMs > 0) await new Promise((r) => setTimeout(r, run.stepMs));
    }
    return { total, worldSize: size };
  } finally {
    await world.close();
  }
}

const positiveInteger = (name: string, v: string | undefined, fallback: number): number => {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < 1) throw new Error(`--${name} must be a positive integer (got ${v})`);
  return n;
};

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { steps: { type: 'string' }, every: { type: 'string' }, checkpoint: { type: 'string' }, 'step-ms': { type: 'string' } },
  });
  if (values.checkpoint === undefined) throw new Error('give --checkpoint FILE (rank 0 writes it every --every steps and a restarted job resumes from it)');
  const run: CheckpointedRun = {
    steps: positiveInteger('steps', values.steps, 100),
    every: positiveInteger('every', values.every, 10),
    checkpoint: values.checkpoint,
    stepMs: values['step-ms'] === undefined ? 20 : Number(values['step-ms']),
  };
  if (!Number.isFinite(run.stepMs) || run.stepMs < 0) throw new Error(`--step-ms must be a non-negative number (got ${values['step-ms']})`);
  const { total, worldSize } = await runCheckpointed(run);
  const want = expectedTotal(worldSize, run.steps);
  console.log(`total ${total} after ${run.steps} steps (expected ${want}): ${total === want ? 'ok' : 'WRONG'}`);
  if (total !== want) process.exitCode = 1;
}

const USAGE = `usage: collective-run --standalone --nproc-per-node 2 --max-restarts 2 node examples/dist/elastic_checkpoint.js --checkpoint FILE [--steps 100] [--every 10] [--step-ms 20]
  each step all-reduces (rank + 1) · step and adds it to a running total; rank 0 checkpoints every --every steps,
  and a job restarted by collective-run resumes from the checkpoint.`;

if (isMain(import.meta.url)) runMain(main, USAGE);
