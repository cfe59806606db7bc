import { describe, expect, it } from 'vitest';
import { fixture, withWorld } from './helpers/world.js';

describe('a collective on a buffer whose export was revoked', () => {
  it.each([false, true])('fails on every rank, naming the buffer, and touches no memory (registered before: %s)', async (registeredFirst) => {
    const results = await withWorld(3, (w) => w.launch<any>(fixture('revoked_buffer'), { registeredFirst }));
    expect(results[1].error.code).toBe('EIO');
    expect(results[1].error.message).toMatch(/allReduce #\d+: recv \(1024 bytes .*device 1\) was revoked/);
    for (const r of results) {
      expect(r.error.message).toMatch(/revoked/);
      expect(r.untouched).toBe(true);
      expect(r.sendKept).toBe(true);
    }
    for (const r of [results[0], results[2]]) expect(r.error.message).toMatch(/aborted by rank 1/);
  });
});
