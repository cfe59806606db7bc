import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from './helpers/run_cli.js';

describe('collective-bench --plot with several dtypes and ops', () => {
  it('draws one series per dtype × op × placement, each rising in size, with a legend', () => {
    const svgFile = join(mkdtempSync(join(tmpdir(), 'cb-plot-')), 'r.svg');
    const r = runCli('-b', '64', '-e', '4K', '-f', '8', '-n', '2', '-w', '0', '-d', 'float32,int32', '-o', 'sum,max', '--plot', svgFile);
    expect(r.status, r.stderr).toBe(0);
    const svg = readFileSync(svgFile, 'utf8');
    const names = ['float32 sum', 'float32 max', 'int32 sum', 'int32 max'].flatMap((g) => [`${g} out-of-place`, `${g} in-place`]);
    const lines = [...svg.matchAll(/<polyline data-series="([^"]+)"[^>]* points="([^"]+)"/g)];
    // Two panels (busbw, time), each with the eight series.
    expect(lines.map((m) => m[1]).sort()).toEqual([...names, ...names].sort());
    for (const m of lines) {
      const xs = m[2]!.split(' ').map((p) => Number(p.split(',')[0]));
      expect(xs).toHaveLength(3);
      for (let i = 1; i < xs.length; i++) expect(xs[i]!).toBeGreaterThan(xs[i - 1]!);
    }
    const legend = [...svg.matchAll(/<g class="legend-entry">.*?<text[^>]*>([^<]+)<\/text><\/g>/g)].map((m) => m[1]);
    expect(legend.sort()).toEqual([...names].sort());
  });
});
