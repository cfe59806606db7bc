import { describe, expect, it } from 'vitest';
import { plotSvg, type Row } from '@collective/bench';

const row = (dtype: string, redop: string, bytes: number, us: number): Row => ({
  bytes, count: bytes / 4, outUs: us, outWrong: 0, inUs: us * 0.9, inWrong: 0, dtype, redop, root: -1, algo: 'oneshot', proto: 'll', tuned: true, spread: 1, noisy: false,
  outAlgbw: bytes / us / 1000, outBusbw: bytes / us / 1000, inAlgbw: bytes / us / 900, inBusbw: bytes / us / 900,
});

/** Rows in the order the sweep prints them: per dtype, per op, sizes rising. */
function sweepRows(): Row[] {
  const rows: Row[] = [];
  for (const dtype of ['float32', 'int8']) {
    for (const op of ['sum', 'max']) {
      for (const [bytes, us] of [[8, 1], [1024, 2], [1 << 20, 50]] as const) rows.push(row(dtype, op, bytes, us * (op === 'max' ? 2 : 1)));
    }
  }
  return rows;
}

const series = (svg: string) => [...svg.matchAll(/<polyline data-series="([^"]+)"[^>]*?(?: stroke-dasharray="([^"]+)")? stroke-width="2" points="([^"]+)"/g)];

describe('plotSvg with several dtypes and ops', () => {
  it('draws one series per dtype × op × placement, never joining two sweeps into one line', () => {
    const svg = plotSvg('all_reduce', sweepRows());
    const lines = series(svg);
    const groups = ['float32 sum', 'float32 max', 'int8 sum', 'int8 max'];
    const names = groups.flatMap((g) => [`${g} out-of-place`, `${g} in-place`]);
    expect(lines.map((m) => m[1]).sort()).toEqual([...names, ...names].sort());
    for (const m of lines) {
      const xs = m[3]!.split(' ').map((p) => Number(p.split(',')[0]));
      expect(xs).toHaveLength(3);
      expect([...xs].sort((a, b) => a - b)).toEqual(xs);
      // in-place is dashed, out-of-place solid
      expect(m[2] !== undefined, m[1]).toBe(m[1]!.endsWith('in-place'));
    }
  });

  it('lists every series once in a legend below the panels', () => {
    const svg = plotSvg('all_reduce', sweepRows());
    const legend = [...svg.matchAll(/<g class="legend-entry">.*?<text[^>]*>([^<]+)<\/text><\/g>/g)].map((m) => m[1]);
    expect(legend).toHaveLength(8);
    expect(new Set(legend).size).toBe(8);
    const height = Number(/<svg[^>]* height="(\d+)"/.exec(svg)![1]);
    const lowestLegend = Math.max(...[...svg.matchAll(/<g class="legend-entry"><line[^>]* y1="([\d.]+)"/g)].map((m) => Number(m[1])));
    expect(lowestLegend).toBeGreaterThan(360);
    expect(lowestLegend).toBeLessThan(height);
  });

  it('gives each dtype × op its own colour', () => {
    const svg = plotSvg('all_reduce', sweepRows());
    const colour = new Map(series(svg).map((m) => [m[1]!.replace(/ (out-of-place|in-place)$/, ''), /stroke="([^"]+)"/.exec(m[0])![1]]));
    expect(new Set(colour.values()).size).toBe(4);
  });
});
