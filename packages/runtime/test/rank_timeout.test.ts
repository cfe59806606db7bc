import { describe, expect, it } from 'vitest';
import { fixture, withWorld } from './helpers/world.js';

describe('a rank that never arrives', () => {
  it('gives every other rank a clear timeout error instead of a hang', async () => {
    const results = await withWorld(3, (w) => w.launch<any>(fixture('absent_rank'), { absent: 2, timeoutMs: 300 }));
    for (const r of [results[0], results[1]]) {
      expect(r.error.code).toBe('ETIMEDOUT');
      expect(r.error.message).toMatch(/allReduce #\d+: rank 2 did not arrive within 300 ms/);
      expect(r.elapsed).toBeGreaterThanOrEqual(290);
      expect(r.elapsed).toBeLessThan(10_000);
      // The communicator is now unusable, and says so.
      expect(r.after.message).toMatch(/unusable after an earlier error/);
    }
    expect(results[2]).toEqual({ skipped: true });
  });

  it('fails the whole launch fast, with the root cause, when one rank throws', async () => {
    await withWorld(3, async (w) => {
      const t0 = performance.now();
      await expect(w.launch(fixture('throws'))).rejects.toThrow(/rank 0 could not load its shard/);
      // Peers were released by the abort, not by their 20 s deadline.
      expect(performance.now() - t0).toBeLessThan(10_000);
      await expect(w.launch(fixture('absent_rank'), { absent: 0, timeoutMs: 100 })).rejects.toThrow(/world is unusable after an earlier failure/);
    });
  });
});
