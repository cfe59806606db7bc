import { describe, expect, it } from 'vitest';
import { fixture, withWorld } from './helpers/world.js';

describe('collectives on the communication stream', () => {
  it.each([1, 2, 3, 5])('run in issue order, blocking or Async, and a bad call fails only its own Work, on %i devices', async (n) => {
    const results = await withWorld(n, (w) => w.launch<any>(fixture('stream_calls')), { streams: true });
    for (const r of results) {
      expect(r.ordered).toBe(true);
      expect(r.allDone).toBe(true);
      expect(r.badError.code).toBe('EINVAL');
      expect(r.badError.message).toMatch(/reduceScatter: send must hold size × recv.length/);
      expect([r.okGather, r.okBcast, r.okReduce, r.okScatter, r.okA2a, r.okRing]).toEqual([true, true, true, true, true, true]);
      expect(r.inGroup.message).toMatch(/allReduce inside groupStart\(\)\/groupEnd\(\)/);
      expect(r.badOp.message).toMatch(/options.op must be one of sum, prod, min, max, avg \(got mean\)/);
      expect(r.notDevice.message).toMatch(/send is not in device memory/);
      expect(r.asyncError).toBeNull();
      expect(r.pending).toBe(0);
    }
  });

  it('is refused with a clear message when the World has no streams', async () => {
    const results = await withWorld(1, (w) => w.launch<any>(fixture('stream_calls')).catch((e: Error) => [e.message]));
    expect(results[0]).toMatch(/this World has no communication streams; start it with World.start\(\{ devices, streams: true \}\)/);
  });
});
