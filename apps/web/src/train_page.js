// The tfjs data-parallel example (examples/src/tfjs_data_parallel_step.ts)
// on a World of Web Workers: the same SPMD module the Node example
// launches, bundled for the page.
import { World } from '@collective/runtime';
import { checkConfig, DEFAULT_CONFIG } from '../../../examples/dist/data_parallel_config.js';

/** Trains `steps` steps on `devices` workers; resolves to every rank's record (losses, parameter hashes, times). */
export async function trainInPage({ devices = 2, steps = DEFAULT_CONFIG.steps, mode = 'blocking' } = {}) {
  const config = checkConfig({ ...DEFAULT_CONFIG, steps, mode });
  const world = await World.start({ devices, poolBytes: 64 << 20, streams: mode === 'ddp' });
  try {
    const t = performance.now();
    const ranks = await world.launch(new URL('./tfjs_data_parallel_step.js', import.meta.url), config);
    return { config, ranks, ms: performance.now() - t };
  } finally {
    await world.close();
  }
}

/** The loss of every step (the same on every rank: the global batch's mean), as a line. */
export function drawLoss(canvas, losses) {
  const g = canvas.getContext('2d');
  const W = canvas.width, H = canvas.height, L = 48, R = 12, T = 14, B = 28;
  g.clearRect(0, 0, W, H);
  g.font = '11px system-ui';
  g.fillStyle = '#555';
  g.strokeStyle = '#ccc';
  g.strokeRect(L, T, W - L - R, H - T - B);
  g.fillText('training loss per step (global batch mean)', L + 6, T + 12);
  if (losses.length === 0) return;
  const hi = Math.max(...losses) * 1.05, lo = Math.min(0, ...losses);
  const px = (i) => L + (i / Math.max(1, losses.length - 1)) * (W - L - R);
  const py = (v) => H - B - ((v - lo) / (hi - lo)) * (H - T - B);
  for (let k = 0; k <= 3; k++) g.fillText((lo + ((hi - lo) * k) / 3).toFixed(2), 4, py(lo + ((hi - lo) * k) / 3) + 4);
  g.fillText('step 1', L, H - B + 16);
  g.fillText(`step ${losses.length}`, W - R - 40, H - B + 16);
  g.strokeStyle = '#8a2be2';
  g.beginPath();
  losses.forEach((v, i) => (i ? g.lineTo(px(i), py(v)) : g.moveTo(px(i), py(v))));
  g.stroke();
}
