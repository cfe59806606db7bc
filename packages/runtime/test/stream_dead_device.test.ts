import { World } from '@collective/runtime';
import { describe, expect, it } from 'vitest';
import { fixture } from './helpers/world.js';

describe('a device worker that dies while its peers wait on their streams', () => {
  it("aborts the streams' communicator too: the peer's Work fails at once, naming the dead rank", async () => {
    const world = await World.start({ devices: 2, poolBytes: 32 << 20, streams: true });
    const report = new SharedArrayBuffer(4096);
    try {
      await expect(world.launch(fixture('dead_worker'), { report, stream: true })).rejects.toThrow();
      const elapsed = new Float64Array(report, 0, 1)[0]!;
      const message = new TextDecoder().decode(new Uint8Array(report, 12, new Int32Array(report, 8, 1)[0]!).slice());
      expect(message).toMatch(/aborted by rank 1: the device worker of rank 1 died/);
      expect(elapsed).toBeLessThan(10_000);
    } finally {
      await world.close();
    }
  });
});
