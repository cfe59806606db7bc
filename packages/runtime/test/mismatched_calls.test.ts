import { describe, expect, it } from 'vitest';
import { fixture, withWorld } from './helpers/world.js';

describe('mismatched calls across ranks', () => {
  it.each([
    ['count', /rank \d passed count (9|8) but rank \d passed (8|9)/],
    ['dtype', /rank \d passed dtype (int32|float32) but rank \d passed (float32|int32)/],
    ['op', /rank \d passed op (max|sum) but rank \d passed (sum|max)/],
    ['root', /rank \d passed root (1|0) but rank \d passed (0|1)/],
    ['proto', /rank \d passed algorithm \S+ but rank \d passed \S+/],
  ])('are reported on every rank when the %s differs, and nothing is reduced', async (field, pattern) => {
    const results = await withWorld(3, (w) => w.launch<any>(fixture('mismatch'), { field, odd: 1 }));
    for (const r of results) {
      expect(r.error?.code).toBe('EINVAL');
      expect(r.error?.message).toMatch(pattern);
      expect(r.untouched).toBe(true);
    }
  });
});
