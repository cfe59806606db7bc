import { describe, expect, it } from 'vitest';
import { fixture, withWorld } from './helpers/world.js';

describe('a rank whose call fails before it is announced', () => {
  it('may retry it: the peers still wait for that call, and nothing is written twice', async () => {
    const results = await withWorld(3, (w) => w.launch<any>(fixture('retry_local_failure')));
    expect(results[1].first.code).toBe('ETIMEDOUT');
    expect(results[1].first.message).toMatch(/fence \d+ not signalled within 100 ms/);
    for (const r of results) {
      expect(r.ok).toBe(true);
      expect(r.next).toBe(1);
    }
  });
});
