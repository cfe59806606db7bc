import { describe, expect, it } from 'vitest';
import { World } from '@collective/runtime';
import { fixture } from './helpers/world.js';

describe('a rank stuck in its own code while its peer fails', () => {
  it.each(['loop', 'sleep'] as const)('(%s): launch() rejects within the watchdog (10 s) after the failure, naming the stuck rank, and the World closes', async (how) => {
    const world = await World.start({ devices: 2, poolBytes: 64 << 20 });
    const t0 = performance.now();
    try {
      await expect(world.launch(fixture('stuck_rank'), { how })).rejects.toThrow(/rank 1 did not arrive within 1000 ms; rank 1 did not return within 10000 ms after that .*the watchdog stopped its thread/);
      // The peer failed at 1 s; the watchdog's 10 s follow (a 40 s sleep used to hold launch() for 65 s, a loop for ever).
      expect(performance.now() - t0).toBeLessThan(35_000);
    } finally {
      await world.close();
    }
  }, 60_000);
});
