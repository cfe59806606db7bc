import { describe, expect, it } from 'vitest';
import { joinResults, startJob } from './helpers/job_processes.js';

interface Child {
  rank: number;
  size: number;
  sum: number[];
  members: number[];
}

describe('split of a communicator that spans processes', () => {
  it('3 processes × 2 devices: children inside one process, across processes, and a partial split with reversed keys all run collectives', async () => {
    const procs = 3;
    const devices = 2;
    const results = joinResults(await startJob({ procs, devices, module: 'split_groups', args: { perProcess: devices }, env: () => ({ JOIN_JOB_NO_CONTROLLER: '1' }) }));
    const n = procs * devices;
    const sumOf = (ranks: number[]) => ranks.reduce((a, q) => a + q + 1, 0);
    for (const r of results.flatMap((x) => x.spmd as { rank: number; byProcess: Child; byLocalIndex: Child; evenReversed: Child | null }[])) {
      const proc = Math.floor(r.rank / devices);
      const sameProcess = Array.from({ length: devices }, (_, i) => proc * devices + i);
      expect(r.byProcess).toEqual({ rank: r.rank % devices, size: devices, sum: new Array(3).fill(sumOf(sameProcess)), members: sameProcess });
      const sameIndex = Array.from({ length: procs }, (_, p) => p * devices + (r.rank % devices));
      expect(r.byLocalIndex).toEqual({ rank: proc, size: procs, sum: new Array(3).fill(sumOf(sameIndex)), members: sameIndex });
      if (r.rank % 2 === 1) {
        expect(r.evenReversed).toBeNull();
        continue;
      }
      // Keys -rank: the highest old rank comes first.
      const evens = Array.from({ length: n }, (_, q) => q).filter((q) => q % 2 === 0).reverse();
      expect(r.evenReversed).toEqual({ rank: evens.indexOf(r.rank), size: evens.length, sum: new Array(3).fill(sumOf(evens)), members: evens });
    }
  }, 60_000);
});
