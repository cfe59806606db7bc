import { TransportError } from '@collective/transport';
import { checkSpiral, DEFAULT_SPIRAL, type SpiralSpec } from './spiral_data.js';

/** One data-parallel training run; every rank gets the same config. */
export interface DataParallelConfig {
  steps: number;
  /** rows per rank per step (b); the global batch is B = ranks · b */
  perRankBatch: number;
  learningRate: number;
  /** width of the MLP's hidden layer */
  hidden: number;
  /** seed of the initial weights */
  initSeed: number;
  data: SpiralSpec;
  /**
   * Initialise rank r from initSeed + r instead of initSeed: the broadcast
   * of rank 0's parameters before the first step must make them all equal.
   */
  perRankInit?: boolean;
}

export const DEFAULT_CONFIG: DataParallelConfig = { steps: 20, perRankBatch: 16, learningRate: 0.5, hidden: 16, initSeed: 3, data: DEFAULT_SPIRAL };

export function checkConfig(c: DataParallelConfig): DataParallelConfig {
  if (c === null || typeof c !== 'object') throw new TransportError('EINVAL', `config must be an object such as ${JSON.stringify(DEFAULT_CONFIG)} (got ${String(c)})`);
  for (const name of ['steps', 'perRankBatch', 'hidden'] as const) {
    if (!Number.isSafeInteger(c[name]) || c[name] <= 0) throw new TransportError('EINVAL', `config.${name} must be a positive integer (got ${String(c[name])})`);
  }
  if (!(c.learningRate > 0)) throw new TransportError('EINVAL', `config.learningRate must be a positive number (got ${String(c.learningRate)})`);
  if (!Number.isSafeInteger(c.initSeed)) throw new TransportError('EINVAL', `config.initSeed must be an integer (got ${String(c.initSeed)})`);
  checkSpiral(c.data);
  return c;
}

/** Rows [start, end) of the global batch of `step` that `rank` of `ranks` trains on. */
export function rowsOfRank(c: DataParallelConfig, step: number, rank: number, ranks: number): { start: number; end: number } {
  const start = step * ranks * c.perRankBatch + rank * c.perRankBatch;
  return { start, end: start + c.perRankBatch };
}
