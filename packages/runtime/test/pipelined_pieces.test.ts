import { describe, expect, it } from 'vitest';
import { fixture, withWorld } from './helpers/world.js';

interface GridResult {
  failures: string[];
  hashes: Record<string, number>;
}

// A 256-byte scratch slot makes every all-reduce of more than a few dozen
// elements run many pieces, exercising the step flags that guard slot reuse.
describe.each([2, 3, 5])('all-reduce split into many scratch pieces on %i devices', (n) => {
  it('matches the reference for every algorithm, dtype and op', async () => {
    await withWorld(
      n,
      async (world) => {
        const results = await world.launch<GridResult>(fixture('collective_grid'), { counts: [1, 7, 1023, 65537], kinds: ['allReduce'] });
        expect(results.flatMap((r) => r.failures)).toEqual([]);
        for (const name of Object.keys(results[0]!.hashes)) {
          expect(new Set(results.map((r) => r.hashes[name])).size, name).toBe(1);
        }
      },
      { slotBytes: 256 },
    );
  });
});
