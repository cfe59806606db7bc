import { describe, expect, it } from 'vitest';
import { fixture, withWorld } from './helpers/world.js';

describe('a Work waited on with a timeout', () => {
  it('fails with ETIMEDOUT naming the calls still queued or running, and the call finishes when waited for again', async () => {
    const results = await withWorld(2, (w) => w.launch<any>(fixture('stream_wait_timeout')), { streams: true });
    expect(results[0].timedOut.code).toBe('ETIMEDOUT');
    expect(results[0].timedOut.message).toMatch(/^ETIMEDOUT: call #1 on the stream of rank 0 has not finished within 1 ms \(2 call\(s\) still queued or running\); it goes on/);
    expect(results[1].timedOut).toBeNull();
    // (1 + 2) summed twice over 2 ranks
    for (const r of results) {
      expect(r.sum).toBe(6);
      expect(r.pending).toBe(0);
    }
  });
});
