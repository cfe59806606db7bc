import { describe, expect, it } from 'vitest';
import { algorithmNames, chooseAlgorithm, envAlgorithm, wantsHier } from '@collective/runtime';

describe('tuner', () => {
  it('follows the shipped table: ll for small calls, simple otherwise', () => {
    const shm = { llOk: true };
    expect(chooseAlgorithm('allReduce', 8, 2, undefined, undefined, shm)).toMatchObject({ name: 'oneshot', proto: 'll' });
    expect(chooseAlgorithm('allReduce', 4088, 8, undefined, undefined, shm)).toMatchObject({ name: 'oneshot', proto: 'll' });
    expect(chooseAlgorithm('allReduce', 4089, 8, undefined, undefined, shm)).toMatchObject({ name: 'twoshot', proto: 'simple' });
    // A communicator that cannot run ll takes the simple protocol.
    expect(chooseAlgorithm('allReduce', 8, 2, undefined, undefined, { llOk: false }).proto).toBe('simple');
    expect(chooseAlgorithm('allGather', 1 << 20, 4, undefined, undefined, shm)).toMatchObject({ name: 'direct', proto: 'simple' });
    expect(chooseAlgorithm('broadcast', 4, 4, undefined, undefined, shm)).toMatchObject({ name: 'direct', proto: 'll' });
  });

  it('obeys options.proto and COLLECTIVE_PROTO, and refuses an ll that cannot run', () => {
    expect(chooseAlgorithm('allReduce', 8, 2, undefined, undefined, { llOk: true, proto: 'simple' })).toMatchObject({ name: 'oneshot', proto: 'simple' });
    expect(chooseAlgorithm('allReduce', 8, 2, 'oneshot', undefined, { llOk: true, envProto: 'simple' }).proto).toBe('simple');
    expect(() => chooseAlgorithm('allReduce', 1 << 20, 2, undefined, undefined, { llOk: true, proto: 'll' })).toThrow(/options.proto 'll' needs at most 4088 bytes in a rank's slot/);
    expect(() => chooseAlgorithm('allReduce', 8, 2, undefined, undefined, { llOk: true, proto: 'fast' })).toThrow(/options.proto must be one of ll, simple \(got fast\)/);
    // From the environment ll is a preference, not an order.
    expect(chooseAlgorithm('allReduce', 1 << 20, 2, undefined, undefined, { llOk: true, envProto: 'll' }).proto).toBe('simple');
  });

  it('obeys the option, then COLLECTIVE_ALGO, and names the choices when asked for one that does not exist', () => {
    expect(chooseAlgorithm('allReduce', 8, 2, 'tree').name).toBe('tree');
    expect(envAlgorithm('allReduce', 'ring')).toBe('ring');
    expect(envAlgorithm('allGather', 'ring')).toBe('ring');
    expect(envAlgorithm('broadcast', 'ring')).toBeUndefined();
    expect(envAlgorithm('allReduce', 'allGather=ring, allReduce=tree')).toBe('tree');
    expect(() => chooseAlgorithm('allGather', 8, 2, 'tree')).toThrow(/options.algo 'tree' is not an algorithm of allGather; choose from direct, ring/);
    expect(algorithmNames('allReduce')).toEqual(['oneshot', 'twoshot', 'ring', 'tree', 'hier']);
    expect(algorithmNames('allGather')).toEqual(['direct', 'ring', 'hier']);
    expect(algorithmNames('allToAll')).toEqual(['direct']);
    // 'hier' is a name, but only a communicator over several processes can run it.
    expect(() => chooseAlgorithm('allReduce', 8, 2, 'hier')).toThrow(/algorithm 'hier' needs a communicator over several processes/);
  });

  it('across processes: a small all-reduce is one ll message per peer (oneshot), a large one streams through the ring', () => {
    expect(chooseAlgorithm('allReduce', 8, 4, undefined, undefined, { net: true, llOk: true })).toMatchObject({ name: 'oneshot', proto: 'll' });
    expect(chooseAlgorithm('allReduce', 4088, 4, undefined, undefined, { net: true, llOk: true })).toMatchObject({ name: 'oneshot', proto: 'll' });
    // Past one small slot, staged through the simple protocol.
    expect(chooseAlgorithm('allReduce', 8, 4, undefined, undefined, { net: true })).toMatchObject({ name: 'oneshot', proto: 'simple' });
    expect(chooseAlgorithm('allReduce', 1 << 20, 4, undefined, undefined, { net: true }).name).toBe('ring');
    // Forcing still wins.
    expect(chooseAlgorithm('allReduce', 1 << 20, 4, 'twoshot', undefined, { net: true }).name).toBe('twoshot');
    expect(chooseAlgorithm('allReduce', 1 << 20, 4, undefined, undefined, { net: false }).name).not.toBe('ring');
  });

  it("goes hierarchical across processes unless an algorithm is named: COLLECTIVE_ALGO=ring is flat everywhere, also where no ring exists", () => {
    expect(wantsHier('allReduce', undefined, undefined)).toBe('default');
    expect(wantsHier('allReduce', 'hier', undefined)).toBe('forced');
    expect(wantsHier('allReduce', 'ring', undefined)).toBe('no');
    expect(wantsHier('allReduce', undefined, 'ring')).toBe('no');
    expect(wantsHier('reduceScatter', undefined, 'ring')).toBe('no');
    expect(wantsHier('reduceScatter', undefined, 'allGather=ring')).toBe('default');
    expect(wantsHier('allGather', undefined, 'allGather=hier')).toBe('forced');
    expect(wantsHier('allToAll', 'hier', undefined)).toBe('no');
  });

  it('follows the environment variable its caller read', () => {
    expect(chooseAlgorithm('allReduce', 1 << 20, 4, undefined, 'allReduce=ring').name).toBe('ring');
    expect(() => chooseAlgorithm('allReduce', 8, 2, undefined, 'allReduce=fastest')).toThrow(/COLLECTIVE_ALGO 'fastest' is not an algorithm of allReduce/);
  });
});
