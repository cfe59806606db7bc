import { describe, expect, it } from 'vitest';
import { fixture, withWorld } from './helpers/world.js';

describe('in-place collectives', () => {
  it.each([
    [2, 1 << 20],
    [3, 1 << 20],
    [5, 1 << 20],
    [3, 256],
  ])('give the same results as out-of-place on %i devices (scratch slot %i bytes)', async (n, slotBytes) => {
    const results = await withWorld(n, (w) => w.launch<any>(fixture('in_place')), { slotBytes });
    for (const r of results) {
      expect(r.bad).toEqual([]);
      expect(r.refusal?.message).toMatch(/allToAll cannot run in place/);
    }
  });
});
