import { describe, expect, it } from 'vitest';
import { BATCHES, batchSizes, describeTiming } from '@collective/bench';

describe('the timing of a size', () => {
  it('times exactly -n calls, in batches that differ by one call at most', () => {
    for (const n of [1, 2, 4, 5, 7, 20, 23, 1001]) {
      const b = batchSizes(n);
      expect(b.reduce((x, y) => x + y, 0)).toBe(n);
      expect(b.length).toBe(Math.min(BATCHES, n));
      expect(Math.max(...b) - Math.min(...b)).toBeLessThanOrEqual(1);
    }
  });

  it('says what ran: the -w calls, the extra warm-up, the -n calls and the statistic', () => {
    expect(describeTiming(7, 2, 25, 'median')).toMatch(/^per size and placement: 2 calls of warm-up \(-w\), ~30 ms more untimed, then 7 calls timed \(-n\) in 5 batches; time is the median batch per call/);
    expect(describeTiming(0, 1, 25, 'min')).toMatch(/1 call of warm-up \(-w\).*timed calls for ~25 ms \(-n 0; at least 5\).*the fastest batch/);
  });
});
