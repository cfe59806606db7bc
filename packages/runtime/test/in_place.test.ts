import { describe, expect, it } from 'vitest';
import { fixture, withWorld } from './helpers/world.js';

describe('in-place collectives', () => {
  it.each([2, 3, 5])('give the same results as out-of-place on %i devices', async (n) => {
    const results = await withWorld(n, (w) => w.launch<any>(fixture('in_place')));
    for (const r of results) {
      expect(r.bad).toEqual([]);
      expect(r.refusal?.message).toMatch(/allToAll cannot run in place/);
    }
  });
});
