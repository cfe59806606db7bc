import { describe, expect, it } from 'vitest';
import { describeSkipped, planSweep } from '@collective/bench';

describe('planSweep', () => {
  it('refuses a sweep with no size a collective can run, naming the minimum', () => {
    expect(() => planSweep('all_reduce', [1, 2], ['float32'], 2)).toThrow(/no size of the sweep \(1 … 2 B\) can run all_reduce: it needs at least 4 B for float32; raise -e/);
    expect(() => planSweep('all_gather', [8], ['float32'], 4)).toThrow(/on 4 devices \(one element per device\): it needs at least 16 B for float32/);
  });

  it('keeps 0 (an empty call) and lists what each dtype skips', () => {
    const [f32, u8] = planSweep('all_gather', [0, 4, 8, 16, 32], ['float32', 'uint8'], 4);
    expect(f32).toMatchObject({ dtype: 'float32', minBytes: 16, sizes: [0, 16, 32], skipped: [4, 8] });
    expect(u8).toMatchObject({ dtype: 'uint8', minBytes: 4, sizes: [0, 4, 8, 16, 32], skipped: [] });
    expect(describeSkipped('all_gather', f32!, 4)).toBe("skipped 4, 8 B for float32: below all_gather's minimum of 16 B (one float32 element per device on 4 devices)");
    expect(describeSkipped('all_gather', u8!, 4)).toBeUndefined();
  });

  it('runs a sweep where only some dtypes have sizes', () => {
    const plan = planSweep('all_reduce', [2, 4], ['uint8', 'float64'], 2);
    expect(plan.map((p) => p.sizes)).toEqual([[2, 4], []]);
  });
});
