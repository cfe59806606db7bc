import { describe, expect, it } from 'vitest';
import { fixture, withWorld } from './helpers/world.js';

describe('send and recv', () => {
  it.each([1, 2, 5])('move a ring of messages without deadlock on %i devices', async (n) => {
    const results = await withWorld(n, (w) => w.launch<any>(fixture('send_recv')));
    for (const r of results) {
      expect(r.ringOk).toBe(true);
      expect(r.selfOk).toBe(true);
    }
    if (n >= 2) {
      // Fail-stop: both ranks fail, each with its own view of the mismatch or
      // with the one the first rank to abort recorded.
      const either = /rank 0 sent 10 float64 but rank 1 expects 12 float64|rank 1 refused 10 float64 from rank 0: count or dtype mismatch/;
      expect(results[0].mismatch.message).toMatch(either);
      expect(results[1].mismatch.message).toMatch(either);
    }
  });
});
