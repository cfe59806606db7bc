import type { Row } from './format_table.js';

interface Series {
  name: string;
  color: string;
  /** SVG stroke-dasharray; solid when absent */
  dash?: string;
  points: [number, number][];
}

const W = 560;
const H = 360;
const M = { left: 64, right: 16, top: 36, bottom: 48 };
const LEGEND_COLUMNS = 4;
const LEGEND_ROW = 18;
const IN_PLACE_DASH = '6 4';
const TAB10 = ['#1f77b4', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#bcbd22', '#7f7f7f', '#393b79'];
const MPI_COLOR = '#d62728';

/** Distinct colours: tab10 first, then hues spread by the golden angle. */
const colorOf = (i: number) => TAB10[i] ?? `hsl(${Math.round((i * 137.508) % 360)}, 65%, 40%)`;

const escapeXml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function plotted(points: [number, number][], logY: boolean): [number, number][] {
  return points.filter(([x, y]) => x > 0 && Number.isFinite(y) && (!logY || y > 0)).sort(([a], [b]) => a - b);
}

function panel(title: string, yLabel: string, series: Series[], logY: boolean, x0: number): string {
  const all = series.flatMap((s) => plotted(s.points, logY));
  if (all.length === 0) return '';
  const lx = (v: number) => Math.log2(v);
  const ly = (v: number) => (logY ? Math.log10(v) : v);
  const xs = all.map(([x]) => lx(x));
  const ys = all.map(([, y]) => ly(y));
  const [xmin, xmax] = [Math.min(...xs), Math.max(...xs, Math.min(...xs) + 1)];
  let [ymin, ymax] = [logY ? Math.floor(Math.min(...ys)) : 0, logY ? Math.ceil(Math.max(...ys)) : Math.max(...ys) * 1.1 || 1];
  if (ymax === ymin) ymax = ymin + 1;
  const px = (v: number) => x0 + M.left + ((lx(v) - xmin) / (xmax - xmin)) * (W - M.left - M.right);
  const py = (v: number) => M.top + (1 - (ly(v) - ymin) / (ymax - ymin)) * (H - M.top - M.bottom);
  const out: string[] = [];
  out.push(`<text x="${x0 + W / 2}" y="20" text-anchor="middle" font-size="15" font-weight="bold">${title}</text>`);
  out.push(`<rect x="${x0 + M.left}" y="${M.top}" width="${W - M.left - M.right}" height="${H - M.top - M.bottom}" fill="none" stroke="#999"/>`);
  // x ticks every power of 4 bytes
  for (let e = Math.ceil(xmin); e <= xmax; e++) {
    if (e % 2 !== 0 && xmax - xmin > 10) continue;
    const v = 2 ** e;
    const label = v >= 2 ** 30 ? `${v / 2 ** 30}G` : v >= 2 ** 20 ? `${v / 2 ** 20}M` : v >= 1024 ? `${v / 1024}K` : String(v);
    out.push(`<line x1="${px(v)}" x2="${px(v)}" y1="${M.top}" y2="${H - M.bottom}" stroke="#eee"/>`);
    out.push(`<text x="${px(v)}" y="${H - M.bottom + 16}" text-anchor="middle" font-size="11">${label}</text>`);
  }
  const yTicks = logY ? Array.from({ length: ymax - ymin + 1 }, (_, i) => 10 ** (ymin + i)) : Array.from({ length: 6 }, (_, i) => (ymax * i) / 5);
  for (const v of yTicks) {
    out.push(`<line x1="${x0 + M.left}" x2="${x0 + W - M.right}" y1="${py(v)}" y2="${py(v)}" stroke="#eee"/>`);
    out.push(`<text x="${x0 + M.left - 6}" y="${py(v) + 4}" text-anchor="end" font-size="11">${v >= 100 || v === 0 ? v.toFixed(0) : v >= 1 ? v.toFixed(1) : v.toPrecision(1)}</text>`);
  }
  out.push(`<text x="${x0 + W / 2}" y="${H - 10}" text-anchor="middle" font-size="12">message size (bytes)</text>`);
  out.push(`<text transform="translate(${x0 + 16},${H / 2}) rotate(-90)" text-anchor="middle" font-size="12">${yLabel}</text>`);
  for (const s of series) {
    const pts = plotted(s.points, logY);
    if (pts.length === 0) continue;
    const dash = s.dash ? ` stroke-dasharray="${s.dash}"` : '';
    out.push(`<polyline data-series="${escapeXml(s.name)}" fill="none" stroke="${s.color}"${dash} stroke-width="2" points="${pts.map(([x, y]) => `${px(x).toFixed(1)},${py(y).toFixed(1)}`).join(' ')}"/>`);
    for (const [x, y] of pts) out.push(`<circle cx="${px(x).toFixed(1)}" cy="${py(y).toFixed(1)}" r="2.5" fill="${s.color}"/>`);
  }
  return out.join('\n');
}

/** One legend under both panels, so it never hides data however many series there are. */
function legend(series: Series[], top: number): string {
  const colWidth = (2 * W) / LEGEND_COLUMNS;
  return series
    .map((s, i) => {
      const x = (i % LEGEND_COLUMNS) * colWidth + M.left / 2;
      const y = top + Math.floor(i / LEGEND_COLUMNS) * LEGEND_ROW;
      const dash = s.dash ? ` stroke-dasharray="${s.dash}"` : '';
      return (
        `<g class="legend-entry"><line x1="${x}" x2="${x + 28}" y1="${y}" y2="${y}" stroke="${s.color}"${dash} stroke-width="2"/>` +
        `<text x="${x + 34}" y="${y + 4}" font-size="11">${escapeXml(s.name)}</text></g>`
      );
    })
    .join('\n');
}

/**
 * The series of a sweep: one per dtype × op × placement (out-of-place solid,
 * in-place dashed, one colour per dtype and op), and Open MPI when measured.
 * Names carry the dtype and op only when there is more than one of them.
 */
function seriesOf(rows: Row[], value: (r: Row, inPlace: boolean) => number, mpiValue: (r: Row) => number): Series[] {
  const groups = new Map<string, Row[]>();
  for (const r of rows) {
    const key = r.redop === 'none' ? r.dtype : `${r.dtype} ${r.redop}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  const named = groups.size > 1;
  const out: Series[] = [];
  [...groups].forEach(([key, groupRows], i) => {
    for (const inPlace of [false, true]) {
      const points = groupRows.map((r): [number, number] => [r.bytes, value(r, inPlace)]);
      if (!points.some(([, y]) => Number.isFinite(y))) continue;
      const placement = inPlace ? 'in-place' : 'out-of-place';
      out.push({ name: named ? `${key} ${placement}` : placement, color: colorOf(i), ...(inPlace && { dash: IN_PLACE_DASH }), points });
    }
  });
  const mpiRows = rows.filter((r) => r.mpiUs !== undefined);
  if (mpiRows.length) out.push({ name: named ? 'Open MPI float32 sum' : 'Open MPI', color: MPI_COLOR, points: mpiRows.map((r) => [r.bytes, mpiValue(r)]) });
  return out;
}

/** busbw and time against size, side by side, with a legend, as a standalone SVG. */
export function plotSvg(title: string, rows: Row[]): string {
  const bw = seriesOf(rows, (r, inPlace) => (inPlace ? r.inBusbw : r.outBusbw), (r) => r.mpiBusbw ?? NaN);
  const time = seriesOf(rows, (r, inPlace) => (inPlace ? r.inUs : r.outUs), (r) => r.mpiUs ?? NaN);
  const keys = [...new Map([...bw, ...time].map((s) => [s.name, s])).values()];
  const legendTop = H + 24 + 16;
  const height = legendTop + Math.ceil(keys.length / LEGEND_COLUMNS) * LEGEND_ROW + 8;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${2 * W}" height="${height}" font-family="sans-serif">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<g transform="translate(0,24)">`,
    panel('bus bandwidth', 'busbw (GB/s)', bw, false, 0),
    panel('time per operation', 'time (µs, log)', time, true, W),
    `</g>`,
    `<text x="${W}" y="18" text-anchor="middle" font-size="16">${escapeXml(title)}</text>`,
    legend(keys, legendTop),
    `</svg>`,
  ].join('\n');
}
