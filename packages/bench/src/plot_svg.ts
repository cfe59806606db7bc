import type { Row } from './format_table.js';

interface Series {
  name: string;
  color: string;
  points: [number, number][];
}

const W = 560;
const H = 360;
const M = { left: 64, right: 16, top: 36, bottom: 48 };

function panel(title: string, yLabel: string, series: Series[], logY: boolean, x0: number): string {
  const all = series.flatMap((s) => s.points).filter(([x, y]) => x > 0 && Number.isFinite(y) && (!logY || y > 0));
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
  series.forEach((s, i) => {
    const pts = s.points.filter(([x, y]) => x > 0 && Number.isFinite(y) && (!logY || y > 0));
    if (pts.length === 0) return;
    out.push(`<polyline fill="none" stroke="${s.color}" stroke-width="2" points="${pts.map(([x, y]) => `${px(x).toFixed(1)},${py(y).toFixed(1)}`).join(' ')}"/>`);
    for (const [x, y] of pts) out.push(`<circle cx="${px(x).toFixed(1)}" cy="${py(y).toFixed(1)}" r="2.5" fill="${s.color}"/>`);
    out.push(`<rect x="${x0 + M.left + 10}" y="${M.top + 8 + i * 16}" width="12" height="4" fill="${s.color}"/>`);
    out.push(`<text x="${x0 + M.left + 26}" y="${M.top + 13 + i * 16}" font-size="11">${s.name}</text>`);
  });
  return out.join('\n');
}

/** busbw and time against size, side by side, as a standalone SVG. */
export function plotSvg(title: string, rows: Row[]): string {
  const bw: Series[] = [
    { name: 'out-of-place', color: '#1f77b4', points: rows.map((r) => [r.bytes, r.outBusbw]) },
    { name: 'in-place', color: '#2ca02c', points: rows.map((r) => [r.bytes, r.inBusbw]) },
  ];
  const time: Series[] = [
    { name: 'out-of-place', color: '#1f77b4', points: rows.map((r) => [r.bytes, r.outUs]) },
    { name: 'in-place', color: '#2ca02c', points: rows.map((r) => [r.bytes, r.inUs]) },
  ];
  if (rows.some((r) => r.mpiUs !== undefined)) {
    bw.push({ name: 'Open MPI', color: '#d62728', points: rows.map((r) => [r.bytes, r.mpiBusbw ?? NaN]) });
    time.push({ name: 'Open MPI', color: '#d62728', points: rows.map((r) => [r.bytes, r.mpiUs ?? NaN]) });
  }
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${2 * W}" height="${H + 24}" font-family="sans-serif">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<g transform="translate(0,24)">`,
    panel('bus bandwidth', 'busbw (GB/s)', bw, false, 0),
    panel('time per operation', 'time (µs, log)', time, true, W),
    `</g>`,
    `<text x="${W}" y="18" text-anchor="middle" font-size="16">${title}</text>`,
    `</svg>`,
  ].join('\n');
}
