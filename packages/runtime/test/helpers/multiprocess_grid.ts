import { expect } from 'vitest';
import { joinResults, startJob } from './job_processes.js';

interface GridResult {
  failures: string[];
  hashes: Record<string, number>;
}
const SHARED_OUTPUT = /^(allReduce|allGather|broadcast)\//;
/** The whole grid over tcp takes about 25 s on two quiet cores; a busy machine gets three times that and more. */
export const MULTIPROCESS_GRID_TIMEOUT_MS = 150_000;

/** The collective grid (every algorithm, dtype and op) across processes, against the plain reference. */
export async function checkJobGrid(procs: number, devices: number): Promise<void> {
  const results = joinResults(await startJob({ procs, devices, module: 'collective_grid', args: { counts: [0, 1, 7, 1023, 65537] }, poolBytes: 128 << 20, timeoutMs: MULTIPROCESS_GRID_TIMEOUT_MS - 10_000 }));
  const ranks = results.flatMap((r) => r.spmd as GridResult[]);
  expect(ranks.length).toBe(procs * devices);
  expect(ranks.flatMap((r) => r.failures)).toEqual([]);
  const cases = Object.keys(ranks[0]!.hashes);
  expect(cases.length).toBeGreaterThan(500);
  for (const name of cases.filter((c) => SHARED_OUTPUT.test(c))) expect(new Set(ranks.map((r) => r.hashes[name])).size, name).toBe(1);
}
