import { describe, expect, it } from 'vitest';
import { fixture, withWorld } from './helpers/world.js';

describe('grouped send and recv', () => {
  it.each([1, 2, 3, 5])('run any pattern without deadlock, matched in order per pair, on %i devices', async (n) => {
    const results = await withWorld(n, (w) => w.launch<any>(fixture('group_p2p')));
    for (const r of results) {
      expect(r.allToAllOk).toBe(true);
      expect(r.orderOk).toBe(true);
      expect(r.collectiveInGroup.message).toMatch(/allReduce inside groupStart\(\)\/groupEnd\(\): a group batches send and recv only/);
      expect(r.endWithoutStart.message).toMatch(/groupEnd\(\) without groupStart\(\)/);
      expect(r.overlap.message).toMatch(/sends\[0\].data and recvs\[0\].data overlap/);
      expect(r.sum).toBe((n * (n - 1)) / 2 + n * 0.5);
    }
  });
});
