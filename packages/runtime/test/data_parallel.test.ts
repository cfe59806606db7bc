import { describe, expect, it } from 'vitest';
import { fixture, withWorld } from './helpers/world.js';

const SIZES = [3, 1000, 7, 5000, 2];
/** The mean over ranks of fill()'s gradient for parameter i, element k, times `scale`. */
const mean = (n: number, i: number, k: number, scale: number) => (scale * Array.from({ length: n }, (_, r) => (r + 1) * (i + 1) + (k % 17) * 0.25).reduce((a, b) => a + b, 0)) / n;

describe('DataParallel', () => {
  it.each([1, 2, 3])('averages bucketed gradients like DDP, accumulates under noSync, and compresses to bfloat16, on %i devices', async (n) => {
    const results = await withWorld(n, (w) => w.launch<any>(fixture('data_parallel')), { streams: true });
    // Reverse registration order, 8 KiB buckets: the 5000-float parameter is alone.
    expect(results[0].plan).toEqual([[4], [3], [2, 1, 0]]);
    for (const r of results) {
      expect(r.paramsFromRoot).toBe(true);
      expect(r.hash).toBe(results[0].hash);
      for (let i = 0; i < SIZES.length; i++) {
        for (const k of [0, 1, SIZES[i]! - 1]) {
          expect(r.step1[i][k]).toBeCloseTo(mean(n, i, k, 1), 4);
          expect(r.step2[i][k]).toBeCloseTo(mean(n, i, k, 3), 4);
          // bfloat16 keeps 8 significant bits.
          expect(Math.abs(r.bf16[i][k] - mean(n, i, k, 1))).toBeLessThanOrEqual(Math.abs(mean(n, i, k, 1)) * 2 ** -7);
        }
      }
    }
    // Under noSync nothing was exchanged: each rank kept its own first micro-batch.
    results.forEach((r, rank) => expect(r.localAfterNoSync).toBe((rank + 1) * 2));
  });
});
