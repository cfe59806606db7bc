import { describe, expect, it } from 'vitest';
import { algorithmNames, chooseAlgorithm, envAlgorithm, ONESHOT_MAX_BYTES } from '@collective/runtime';

describe('tuner', () => {
  it('picks oneshot for small all-reduce and twoshot for large, direct elsewhere', () => {
    expect(chooseAlgorithm('allReduce', 8, 2).name).toBe('oneshot');
    expect(chooseAlgorithm('allReduce', ONESHOT_MAX_BYTES, 8).name).toBe('oneshot');
    expect(chooseAlgorithm('allReduce', ONESHOT_MAX_BYTES + 1, 8).name).toBe('twoshot');
    expect(chooseAlgorithm('allGather', 1 << 20, 4).name).toBe('direct');
    expect(chooseAlgorithm('broadcast', 4, 4).name).toBe('direct');
  });

  it('obeys the option, then COLLECTIVE_ALGO, and names the choices when asked for one that does not exist', () => {
    expect(chooseAlgorithm('allReduce', 8, 2, 'tree').name).toBe('tree');
    expect(envAlgorithm('allReduce', 'ring')).toBe('ring');
    expect(envAlgorithm('allGather', 'ring')).toBe('ring');
    expect(envAlgorithm('broadcast', 'ring')).toBeUndefined();
    expect(envAlgorithm('allReduce', 'allGather=ring, allReduce=tree')).toBe('tree');
    expect(() => chooseAlgorithm('allGather', 8, 2, 'tree')).toThrow(/options.algo 'tree' is not an algorithm of allGather; choose from direct, ring/);
    expect(algorithmNames('allReduce')).toEqual(['oneshot', 'twoshot', 'ring', 'tree']);
  });

  it('follows the environment variable its caller read', () => {
    expect(chooseAlgorithm('allReduce', 1 << 20, 4, undefined, 'allReduce=ring').name).toBe('ring');
    expect(() => chooseAlgorithm('allReduce', 8, 2, undefined, 'allReduce=fastest')).toThrow(/COLLECTIVE_ALGO 'fastest' is not an algorithm of allReduce/);
  });
});
