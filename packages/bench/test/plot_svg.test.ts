import { describe, expect, it } from 'vitest';
import { plotSvg, type Row } from '@collective/bench';

const row = (bytes: number, us: number): Row => ({
  bytes, count: bytes / 4, outUs: us, outWrong: 0, inUs: us * 0.9, inWrong: 0, dtype: 'float32', redop: 'sum', root: -1, algo: 'oneshot', proto: 'll', tuned: true, spread: 1, noisy: false,
  outAlgbw: bytes / us / 1000, outBusbw: bytes / us / 1000, inAlgbw: bytes / us / 900, inBusbw: bytes / us / 900, mpiUs: us * 3, mpiBusbw: bytes / us / 3000,
});

describe('plotSvg', () => {
  it('draws busbw and time against size for every series, as an SVG document', () => {
    const svg = plotSvg('all_reduce', [row(8, 1), row(1024, 2), row(1 << 20, 50)]);
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.match(/<polyline/g)).toHaveLength(6);
    expect(svg).toContain('bus bandwidth');
    expect(svg).toContain('time per operation');
    expect(svg).toContain('Open MPI');
    expect(svg).toContain('>1M<');
  });
});
