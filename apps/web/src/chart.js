// busbw against message size (log scale), redrawn after every row.
export function drawChart(canvas, rows) {
  const g = canvas.getContext('2d');
  const W = canvas.width;
  const H = canvas.height;
  const L = 56, R = 16, T = 16, B = 36;
  g.clearRect(0, 0, W, H);
  g.font = '11px system-ui';
  g.fillStyle = '#555';
  g.strokeStyle = '#ccc';
  g.strokeRect(L, T, W - L - R, H - T - B);
  g.fillText('busbw (GB/s), out-of-place ● in-place ○', L + 6, T + 12);
  if (rows.length === 0) return;
  const xs = rows.map((r) => Math.log2(r.bytes));
  const x0 = Math.min(...xs), x1 = Math.max(x0 + 1, ...xs);
  const ys = rows.flatMap((r) => [r.outBusbw, r.inBusbw]).filter(Number.isFinite);
  const y1 = Math.max(1e-3, ...ys) * 1.1;
  const px = (x) => L + ((x - x0) / (x1 - x0)) * (W - L - R);
  const py = (y) => H - B - (y / y1) * (H - T - B);
  for (let i = 0; i <= 4; i++) {
    const y = (y1 * i) / 4;
    g.fillText(y.toFixed(y1 < 1 ? 3 : 1), 4, py(y) + 4);
  }
  for (const r of rows) {
    const label = r.bytes >= 1 << 20 ? `${r.bytes >> 20}M` : r.bytes >= 1024 ? `${r.bytes >> 10}K` : `${r.bytes}`;
    g.fillText(label, px(Math.log2(r.bytes)) - 8, H - B + 16);
  }
  const line = (key, filled) => {
    g.strokeStyle = g.fillStyle = filled ? '#1f5fbf' : '#d9822b';
    g.beginPath();
    rows.forEach((r, i) => (i ? g.lineTo : g.moveTo).call(g, px(Math.log2(r.bytes)), py(r[key] || 0)));
    g.stroke();
    for (const r of rows) {
      if (!Number.isFinite(r[key])) continue;
      g.beginPath();
      g.arc(px(Math.log2(r.bytes)), py(r[key]), 3, 0, 2 * Math.PI);
      filled ? g.fill() : g.stroke();
    }
  };
  line('outBusbw', true);
  if (rows.some((r) => Number.isFinite(r.inBusbw))) line('inBusbw', false);
  g.fillStyle = '#555';
}
