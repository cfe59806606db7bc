import { describe, expect, it } from 'vitest';
import { fixture, withWorld } from './helpers/world.js';

describe('a registered buffer its owner freed', () => {
  it('fails the next call that names it on every rank, and its pages stay out of reach until then', async () => {
    const results = await withWorld(3, (w) => w.launch<any>(fixture('freed_registered_buffer')));
    for (const r of results) {
      expect(r.before).toBe(3);
      expect(r.bytes).toBe(4096);
      expect(r.error.message).toMatch(/recv \(4096 bytes .*device 1\) was freed while registered/);
    }
    expect(results[1].error.code).toBe('EIO');
    expect(results[1].reusedWhileRegistered).toBe(false);
  });
});
