import { describe, expect, it } from 'vitest';
import { joinResults, startJob } from './helpers/job_processes.js';

interface HierResult {
  rank: number;
  mismatches: string[];
  error: string | null;
  ms: number;
  asyncError: string | null;
}

describe('hierarchical all-reduce, all-gather, reduce-scatter and broadcast across processes', () => {
  it.each([
    [2, 2, true],
    [2, 3, false],
  ])('%i processes × %i devices (hier forced: %s): the same results as the flat ring for counts 0, 1, odd and uneven, in and out of place; a missing rank aborts the communicator everywhere', async (procs, devices, forced) => {
    const skipper = procs * devices - 1;
    const results = joinResults(await startJob({ procs, devices, module: 'hier_collectives', args: { forced, skipper }, env: () => ({ JOIN_JOB_NO_CONTROLLER: '1' }), poolBytes: 128 << 20, timeoutMs: 80_000 }));
    for (const r of results.flatMap((x) => x.spmd as HierResult[])) {
      expect(r.mismatches, `rank ${r.rank}`).toEqual([]);
      expect(r.asyncError, `rank ${r.rank}`).not.toBeNull();
      if (r.rank === skipper) continue;
      expect(r.error, `rank ${r.rank}`).toMatch(/within 3000 ms|aborted|hierarchical/);
      // A rank a hierarchy's step waited on is named as the user knows it, its number in the step's group beside it.
      for (const m of r.error!.matchAll(/rank (\d+) \(([^)]*)\) did not arrive/g)) {
        const user = Number(m[1]);
        const inGroup = Number(/rank (\d+) of the step's group/.exec(m[2]!)?.[1] ?? NaN);
        expect([Math.floor(user / devices), user % devices], r.error!).toContain(inGroup);
      }
      expect(r.ms).toBeLessThan(12_000);
    }
  }, 100_000);

  it("forcing 'hier' where a process has a single rank is refused before anything is sent", async () => {
    const results = joinResults(await startJob({ procs: 2, devices: 1, module: 'hier_refused', env: () => ({ JOIN_JOB_NO_CONTROLLER: '1' }) }));
    for (const r of results.flatMap((x) => x.spmd as { error: string; after: boolean }[])) {
      expect(r.error).toMatch(/algorithm 'hier' needs a communicator over several processes/);
      // The communicator is still usable: nothing was announced.
      expect(r.after).toBe(true);
    }
  }, 60_000);
});
