import { describe, expect, it } from 'vitest';
import { fixture, withWorld } from './helpers/world.js';

describe('an Async collective on the stream', () => {
  it('returns at once and runs while the device thread computes', async () => {
    const [r0, r1] = await withWorld(2, (w) => w.launch<any>(fixture('stream_overlap')), { streams: true });
    expect(r1.ok).toBe(true);
    expect(r0.ok).toBe(true);
    // Issuing never waits for the peer (it arrives a second later).
    expect(r0.issueMs).toBeLessThan(300);
    expect(r0.computed).toBe(true);
    expect(r0.runningDuringCompute).toBe(true);
    expect(r0.waitedMs).toBeGreaterThan(500);
  });
});
