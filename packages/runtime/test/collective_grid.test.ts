import { describe, expect, it } from 'vitest';
import { fixture, withWorld } from './helpers/world.js';

interface GridResult {
  failures: string[];
  hashes: Record<string, number>;
}

const COUNTS = [0, 1, 7, 1023, 65537];
// Outputs that must be the same bytes on every rank.
const SHARED_OUTPUT = /^(allReduce|allGather|broadcast)\//;

describe.each([1, 2, 3, 5, 8])('every collective, algorithm, dtype and op on %i device(s)', (n) => {
  it('matches the plain reference, bitwise the same on every rank and from run to run', async () => {
    await withWorld(n, async (world) => {
      const runs: GridResult[][] = [];
      for (let run = 0; run < (n <= 3 ? 2 : 1); run++) runs.push(await world.launch<GridResult>(fixture('collective_grid'), { counts: COUNTS }));
      const [first] = runs;
      expect(first!.flatMap((r) => r.failures)).toEqual([]);
      const cases = Object.keys(first![0]!.hashes);
      // 6 collectives: 100 all-reduce, 10 all-gather, 25 reduce-scatter, 5 broadcast, 25 reduce, 5 all-to-all cases per dtype.
      expect(cases.length).toBe(9 * 170);
      for (const name of cases.filter((c) => SHARED_OUTPUT.test(c))) {
        const hashes = first!.map((r) => r.hashes[name]);
        if (new Set(hashes).size !== 1) throw new Error(`${name}: ranks differ: ${hashes.join(', ')}`);
      }
      for (const again of runs.slice(1)) {
        for (let r = 0; r < n; r++) expect(again[r]!.hashes).toEqual(first![r]!.hashes);
      }
    });
  });
});
