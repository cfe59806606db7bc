import { describe, expect, it } from 'vitest';
import { fixture, withWorld } from './helpers/world.js';

describe('a stream call that fails after it started', () => {
  it('fails its Work, aborts the stream everywhere, and fails every later Work with that error', async () => {
    const [r0, r1] = await withWorld(2, (w) => w.launch<any>(fixture('stream_failure')), { streams: true });
    expect(r0.lateError.code).toBe('ETIMEDOUT');
    expect(r0.lateError.message).toMatch(/allReduce #2: rank 1 did not arrive within 300 ms/);
    expect(r0.afterError.message).toMatch(/communicator is unusable after an earlier error|aborted/);
    expect(r0.asyncError).toMatch(/rank 1 did not arrive within 300 ms/);
    expect(r0.sync.message).toMatch(/rank 1 did not arrive within 300 ms/);
    expect(r1.next.message).toMatch(/aborted by rank 0: allReduce #2: rank 1 did not arrive within 300 ms/);
    expect(r1.asyncError).toMatch(/aborted by rank 0/);
  });
});
