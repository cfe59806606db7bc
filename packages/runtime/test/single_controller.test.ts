import { describe, expect, it } from 'vitest';
import { withWorld } from './helpers/world.js';

describe('single-controller path', () => {
  it('runs collectives on host arrays handed in by the main thread', async () => {
    await withWorld(3, async (w) => {
      const inputs = [0, 1, 2].map((r) => Float64Array.from({ length: 5 }, (_, i) => r * 10 + i));
      const sums = await w.allReduce(inputs);
      expect(sums.map((a) => Array.from(a))).toEqual(Array(3).fill([30, 33, 36, 39, 42]));
      const maxes = await w.allReduce(inputs.map((a) => Int32Array.from(a)), { op: 'max' });
      expect(Array.from(maxes[1]!)).toEqual([20, 21, 22, 23, 24]);
      const gathered = await w.allGather([Uint8Array.of(1), Uint8Array.of(2), Uint8Array.of(3)]);
      expect(gathered.map((a) => Array.from(a))).toEqual(Array(3).fill([1, 2, 3]));
      const bcast = await w.broadcast(inputs, { root: 2 });
      expect(Array.from(bcast[0]!)).toEqual([20, 21, 22, 23, 24]);
      await expect(w.allReduce(inputs.slice(0, 2))).rejects.toThrow(/needs one input array per device \(3\), got 2/);
    });
  });
});
