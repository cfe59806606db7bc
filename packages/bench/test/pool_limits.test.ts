import { describe, expect, it } from 'vitest';
import { collectivePoolBytes, collectiveSizeLimit, kernelPoolBytes, kernelSizeLimit, MAX_POOL_BYTES, parseSize, rmaPoolBytes, rmaSizeLimit } from '@collective/bench';

const MiB = 1024 * 1024;

describe('size limits of the benchmarks', () => {
  it('are the largest whole MiB whose device pool fits in 2 GiB', () => {
    for (const devices of [1, 2, 3, 8, 64]) {
      const { max } = collectiveSizeLimit(devices);
      expect(collectivePoolBytes(devices, max)).toBeLessThanOrEqual(MAX_POOL_BYTES);
      expect(collectivePoolBytes(devices, max + MiB)).toBeGreaterThan(MAX_POOL_BYTES);
    }
    for (const sources of [1, 2, 7]) {
      const { max } = kernelSizeLimit(sources);
      expect(kernelPoolBytes(max, sources)).toBeLessThanOrEqual(MAX_POOL_BYTES);
      expect(kernelPoolBytes(max + MiB, sources)).toBeGreaterThan(MAX_POOL_BYTES);
    }
    expect(rmaPoolBytes(rmaSizeLimit().max)).toBeLessThanOrEqual(MAX_POOL_BYTES);
    expect(rmaPoolBytes(rmaSizeLimit().max + MiB)).toBeGreaterThan(MAX_POOL_BYTES);
    expect(kernelSizeLimit(2).max).toBe(511 * MiB);
  });

  it('make parseSize refuse what does not fit, quoting the text typed', () => {
    expect(parseSize('511M', '--bytes', kernelSizeLimit(2))).toBe(511 * MiB);
    expect(() => parseSize('64G', '--bytes', kernelSizeLimit(2))).toThrow("--bytes must be at most 511M with 2 source(s): the device pool holds at most 2G (got '64G')");
    expect(() => parseSize('123456789012345678901234', '-e')).toThrow("-e is too large (got '123456789012345678901234')");
  });
});
