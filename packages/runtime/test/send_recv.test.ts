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
      expect(results[1].mismatch.message).toMatch(/rank 0 sent 10 float64 but rank 1 expects 12 float64/);
      expect(results[0].mismatch.message).toMatch(/rank 1 refused 10 elements/);
    }
  });
});
