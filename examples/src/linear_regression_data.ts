import { TransportError } from '@collective/transport';
import { SeededRandom } from './seeded_random.js';

/** A synthetic least-squares problem y = X·w* + noise, fully determined by its fields. */
export interface RegressionProblem {
  rows: number;
  /** features drawn uniformly from [-1, 1); a constant 1 column (the bias) is added after them */
  features: number;
  /** standard deviation of the Gaussian noise added to y */
  noise: number;
  seed: number;
}

export const DEFAULT_PROBLEM: RegressionProblem = { rows: 4096, features: 8, noise: 0.01, seed: 12 };

/** Columns of X: the features and the bias. */
export const columnsOf = (p: RegressionProblem): number => p.features + 1;

const WEIGHTS_STREAM = 1;
const ROWS_STREAM = 2;

export function checkProblem(p: RegressionProblem): RegressionProblem {
  const positive = (name: keyof RegressionProblem): void => {
    const v = p[name];
    if (!Number.isSafeInteger(v) || v <= 0) throw new TransportError('EINVAL', `problem.${name} must be a positive integer (got ${String(v)})`);
  };
  positive('rows');
  positive('features');
  if (!Number.isSafeInteger(p.seed)) throw new TransportError('EINVAL', `problem.seed must be an integer (got ${String(p.seed)})`);
  if (!(p.noise >= 0)) throw new TransportError('EINVAL', `problem.noise must be a non-negative number (got ${String(p.noise)})`);
  if (p.rows < columnsOf(p)) throw new TransportError('EINVAL', `problem.rows (${p.rows}) must be at least the number of columns (${columnsOf(p)}) or XᵀX is singular`);
  return p;
}

/** The true weights w* (features, then bias), uniform in [-2, 2). */
export function trueWeights(p: RegressionProblem): Float64Array {
  const rnd = SeededRandom.of(p.seed, WEIGHTS_STREAM);
  return Float64Array.from({ length: columnsOf(p) }, () => rnd.between(-2, 2));
}

/**
 * Rows [start, end) of X (row-major, columnsOf(p) wide) and y. Each row
 * comes from its own random stream, so a shard is the same numbers as the
 * matching rows of the full data set.
 */
export function rowsOf(p: RegressionProblem, start: number, end: number): { x: Float64Array; y: Float64Array } {
  if (!(Number.isSafeInteger(start) && Number.isSafeInteger(end) && 0 <= start && start <= end && end <= p.rows)) {
    throw new TransportError('EINVAL', `rows [${start}, ${end}) are not within [0, ${p.rows})`);
  }
  const cols = columnsOf(p);
  const w = trueWeights(p);
  const x = new Float64Array((end - start) * cols);
  const y = new Float64Array(end - start);
  for (let i = start; i < end; i++) {
    const rnd = SeededRandom.of(p.seed, ROWS_STREAM, i);
    const row = x.subarray((i - start) * cols, (i - start + 1) * cols);
    let dot = 0;
    for (let j = 0; j < cols; j++) {
      row[j] = j < p.features ? rnd.between(-1, 1) : 1;
      dot += row[j]! * w[j]!;
    }
    y[i - start] = dot + p.noise * rnd.normal();
  }
  return { x, y };
}

/** The rows rank `rank` of `size` owns: contiguous, sizes differing by at most one. */
export function shardOf(rows: number, rank: number, size: number): { start: number; end: number } {
  return { start: Math.floor((rows * rank) / size), end: Math.floor((rows * (rank + 1)) / size) };
}
