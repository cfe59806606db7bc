import { describe, expect, it } from 'vitest';
import { formatBytes, parseSize, sweep } from '@collective/bench';

describe('size flags', () => {
  it('parse nccl-tests sizes with binary suffixes', () => {
    expect(parseSize('8', '-b')).toBe(8);
    expect(parseSize('64K', '-b')).toBe(65536);
    expect(parseSize('32m', '-e')).toBe(32 << 20);
    expect(parseSize('1G', '-e')).toBe(1 << 30);
    expect(() => parseSize('12 bytes', '-b')).toThrow(/-b must be a size such as 8, 64K, 32M or 1G \(got '12 bytes'\)/);
  });

  it('sweep from -b to -e by -f, and refuse inverted or flat ranges', () => {
    expect(sweep(8, 64, 2)).toEqual([8, 16, 32, 64]);
    expect(sweep(1024, 1 << 20, 4)).toEqual([1024, 4096, 16384, 65536, 262144, 1048576]);
    expect(() => sweep(64, 8, 2)).toThrow(/-e \(max bytes, 8\) must be at least -b/);
    expect(() => sweep(8, 64, 1)).toThrow(/-f \(step factor\) must be greater than 1/);
    expect(formatBytes(32 << 20)).toBe('32M');
    expect(sweep(1024, 4096, 2, 1024)).toEqual([1024, 2048, 3072, 4096]);
  });
});
