import { describe, expect, it } from 'vitest';
import { expectedReduce, inputValue, matches } from '@collective/bench';

describe('benchmark inputs', () => {
  it('reduce to the same value in every order, so checks can be exact', () => {
    for (const op of ['sum', 'prod', 'min', 'max'] as const) {
      for (const n of [2, 3, 5, 8]) {
        for (let i = 0; i < 12; i++) {
          const vals = Array.from({ length: n }, (_, r) => inputValue(op, r, i));
          const fwd = expectedReduce(op, n, i);
          const f32 = Math.fround;
          let rev = f32(vals[n - 1]!);
          for (let k = n - 2; k >= 0; k--) {
            const v = vals[k]!;
            rev = f32(op === 'sum' ? rev + v : op === 'prod' ? rev * v : op === 'min' ? Math.min(rev, v) : Math.max(rev, v));
          }
          expect(rev).toBe(fwd);
          // Small enough for int8 and float16.
          expect(Math.abs(fwd)).toBeLessThanOrEqual(127);
        }
      }
    }
  });

  it('check avg with a tolerance, truncating for integers', () => {
    expect(matches('float32', 'avg', 2.5, 2.5)).toBe(true);
    expect(matches('float16', 'avg', 2.5, 2.501)).toBe(true);
    expect(matches('int32', 'avg', 2, 2.5)).toBe(true);
    expect(matches('int32', 'avg', 3, 2.5)).toBe(false);
    expect(matches('float32', 'sum', 3, 3.0000001)).toBe(false);
  });
});
