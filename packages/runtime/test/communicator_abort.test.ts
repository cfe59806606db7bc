import { describe, expect, it } from 'vitest';
import { fixture, withWorld } from './helpers/world.js';

describe('communicator abort', () => {
  it('fails the calls other ranks are blocked in at once, and reports it as the async error', async () => {
    const results = await withWorld(3, (w) => w.launch<any>(fixture('abort')));
    expect(results[0].after.message).toMatch(/destroyed/);
    for (const r of results.slice(1)) {
      expect(r.error.code).toBe('ECANCELED');
      expect(r.error.message).toMatch(/aborted by rank 0/);
      expect(r.elapsed).toBeLessThan(5000);
      expect(r.asyncError).toMatch(/aborted by rank 0/);
    }
  });
});
