import { describe, expect, it } from 'vitest';
import { fixture, withWorld } from './helpers/world.js';

describe('collectives and reservation fences', () => {
  it('wait for a pending write fence on their buffer before touching it', async () => {
    const results = await withWorld(3, (w) => w.launch<any>(fixture('fences'), { mailbox: new SharedArrayBuffer(16) }));
    expect(results[0].waited).toBeGreaterThanOrEqual(100);
    expect(results.every((r) => r.ok)).toBe(true);
  });
});
