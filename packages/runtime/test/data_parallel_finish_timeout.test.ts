import { describe, expect, it } from 'vitest';
import { fixture, withWorld } from './helpers/world.js';

describe('DataParallel.finish that times out while its buckets still reduce', () => {
  it('keeps the step (no reset under a running call): the next finish() waits for it and every rank holds the average', async () => {
    const [r0, r1] = await withWorld(2, (w) => w.launch<any>(fixture('data_parallel_timeout')), { streams: true });
    expect(r0.timedOut).toMatch(/ETIMEDOUT/);
    expect(r0.averaged).toBe(true);
    expect(r1.averaged).toBe(true);
  });
});
