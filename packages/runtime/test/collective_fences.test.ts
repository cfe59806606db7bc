import { describe, expect, it } from 'vitest';
import { fixture, withWorld } from './helpers/world.js';

describe('collectives and reservation fences', () => {
  it('wait for a pending write fence on their buffer, and publish their own while large calls run', async () => {
    const results = await withWorld(3, (w) => w.launch<any>(fixture('fences')));
    expect(results[0].waited).toBeGreaterThanOrEqual(100);
    expect(results.every((r) => r.ok)).toBe(true);
    expect(results[2].sawFence).toBe(true);
    expect(results[2].clearAfter).toBe(true);
  });
});
