import { describe, expect, it } from 'vitest';
import { fixture, withWorld } from './helpers/world.js';

describe('an Async collective on the stream', () => {
  it('returns before its peer has called, and completes while the device thread computes, without a wait', async () => {
    const [r0, r1] = await withWorld(2, (w) => w.launch<any>(fixture('stream_overlap')), { streams: true });
    expect(r1.ok).toBe(true);
    expect(r0.ok).toBe(true);
    // Issuing did not wait for the peer: rank 1 calls only after rank 0 issued (a barrier between them).
    expect(r0.pendingAfterIssue).toBe(true);
    // The call finished inside rank 0's compute loop, which never waits on it.
    expect(r0.completedWhileComputing).toBe(true);
    expect(r0.computed).toBe(true);
  });
});
