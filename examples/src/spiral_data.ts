import { TransportError } from '@collective/transport';
import { SeededRandom } from './seeded_random.js';

/** Two interleaved spiral arms, one per class, generated (never downloaded) from a seed. */
export interface SpiralSpec {
  /** points in one pass over the data; batches wrap around after it */
  points: number;
  /** turns of each arm */
  turns: number;
  /** standard deviation of the Gaussian jitter added to each coordinate */
  noise: number;
  seed: number;
}

export const DEFAULT_SPIRAL: SpiralSpec = { points: 1024, turns: 1, noise: 0.05, seed: 7 };

export function checkSpiral(s: SpiralSpec): SpiralSpec {
  if (s === null || typeof s !== 'object') throw new TransportError('EINVAL', `spiral must be an object such as ${JSON.stringify(DEFAULT_SPIRAL)} (got ${String(s)})`);
  if (!Number.isSafeInteger(s.points) || s.points <= 0) throw new TransportError('EINVAL', `spiral.points must be a positive integer (got ${String(s.points)})`);
  if (!(s.turns > 0)) throw new TransportError('EINVAL', `spiral.turns must be a positive number (got ${String(s.turns)})`);
  if (!(s.noise >= 0)) throw new TransportError('EINVAL', `spiral.noise must be a non-negative number (got ${String(s.noise)})`);
  if (!Number.isSafeInteger(s.seed)) throw new TransportError('EINVAL', `spiral.seed must be an integer (got ${String(s.seed)})`);
  return s;
}

/**
 * Points [start, end) of the endless sequence (point k is point k mod
 * spec.points): x is row-major (n × 2), labels are 0 or 1, classes alternate
 * so every batch holds both. Each point has its own random stream, so a rank
 * draws only its rows and gets the same numbers as one process drawing all.
 */
export function spiralRows(spec: SpiralSpec, start: number, end: number): { x: Float32Array; labels: Float32Array } {
  if (!(Number.isSafeInteger(start) && Number.isSafeInteger(end) && 0 <= start && start <= end)) {
    throw new TransportError('EINVAL', `rows [${start}, ${end}) must be a range of non-negative integers`);
  }
  const x = new Float32Array((end - start) * 2);
  const labels = new Float32Array(end - start);
  for (let i = start; i < end; i++) {
    const k = i % spec.points;
    const rnd = SeededRandom.of(spec.seed, k);
    const label = k % 2;
    // Points crowd towards the centre less with a square root.
    const t = Math.sqrt(rnd.uniform());
    const angle = 2 * Math.PI * spec.turns * t + label * Math.PI;
    x[2 * (i - start)] = t * Math.cos(angle) + spec.noise * rnd.normal();
    x[2 * (i - start) + 1] = t * Math.sin(angle) + spec.noise * rnd.normal();
    labels[i - start] = label;
  }
  return { x, labels };
}
