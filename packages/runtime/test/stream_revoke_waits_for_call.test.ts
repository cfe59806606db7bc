import { describe, expect, it } from 'vitest';
import { fixture, withWorld } from './helpers/world.js';

describe("a revoke while the owner's stream is inside a call on the buffer", () => {
  it('waits for that call to end, so no peer reads or writes the memory after revoke() returned', async () => {
    const [r0, r1] = await withWorld(2, (w) => w.launch<any>(fixture('stream_revoke')), { streams: true });
    expect(r0.runningBefore).toBe(true);
    expect(r0.doneWhenRevoked).toBe(true);
    // Rank 1 joined ~2 s after the call began: the revoke waited for it.
    expect(r0.revokeMs).toBeGreaterThan(100);
    // The call itself was whole: both ranks hold the sum.
    expect(r0.error).toBeNull();
    expect(r0.sum).toBe(3);
    expect(r1.sum).toBe(3);
  });
});
