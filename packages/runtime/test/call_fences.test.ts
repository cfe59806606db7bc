import { describe, expect, it } from 'vitest';
import { fixture, withWorld } from './helpers/world.js';

describe('the fences a call publishes on its buffers', () => {
  it('are there even for an 8-byte call, and signal success when it succeeds', async () => {
    const results = await withWorld(3, (w) => w.launch<any>(fixture('call_fences'), { mailbox: new SharedArrayBuffer(64), fail: false }));
    expect(results[2].pending).toBe(true);
    expect(results[2].outcome).toBeNull();
    expect(results[0].error).toBeNull();
  });

  it('complete with the error of a call that failed, never as success', async () => {
    const results = await withWorld(3, (w) => w.launch<any>(fixture('call_fences'), { mailbox: new SharedArrayBuffer(64), fail: true }));
    expect(results[0].error.code).toBe('ETIMEDOUT');
    expect(results[2].pending).toBe(true);
    expect(results[2].outcome.code).toBe('ETIMEDOUT');
    expect(results[2].outcome.message).toMatch(/completed with an error/);
  });
});
