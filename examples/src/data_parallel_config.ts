import { DEFAULT_BUCKET_BYTES } from '@collective/runtime';
import { TransportError } from '@collective/transport';
import { checkSpiral, DEFAULT_SPIRAL, type SpiralSpec } from './spiral_data.js';

/** One data-parallel training run; every rank gets the same config. */
export interface DataParallelConfig {
  steps: number;
  /** rows per rank per step (b); the global batch is B = ranks · b */
  perRankBatch: number;
  learningRate: number;
  /** width of the MLP's hidden layers */
  hidden: number;
  /** hidden layers (tanh, `hidden` wide each); default 1 */
  depth?: number;
  /** seed of the initial weights */
  initSeed: number;
  data: SpiralSpec;
  /**
   * Initialise rank r from initSeed + r instead of initSeed: the broadcast
   * of rank 0's parameters before the first step must make them all equal.
   */
  perRankInit?: boolean;
  /**
   * How gradients are averaged (default 'blocking'):
   * - 'blocking': after backward, all gradients in one bucket, one blocking all-reduce on ctx.comm;
   * - 'ddp': DataParallel on the communication stream: a bucket starts reducing
   *   while backward still computes earlier layers, and bucket k is applied
   *   while bucket k+1 reduces. Needs World.start({ streams: true }).
   */
  mode?: ExchangeMode;
  /** ddp: bytes of gradients per bucket (default 25 MiB, as torch DDP) */
  bucketBytes?: number;
  /** ddp: 'allreduce' (float32 average, the default) or 'bf16' (bf16CompressHook: half the bytes) */
  commHook?: HookName;
}

export const EXCHANGE_MODES = ['blocking', 'ddp'] as const;
export type ExchangeMode = (typeof EXCHANGE_MODES)[number];
export const HOOK_NAMES = ['allreduce', 'bf16'] as const;
export type HookName = (typeof HOOK_NAMES)[number];
/** More hidden layers than any example needs: a typo such as --depth 100 fails at once. */
export const MAX_DEPTH = 16;

export const DEFAULT_CONFIG: DataParallelConfig = { steps: 20, perRankBatch: 16, learningRate: 0.5, hidden: 16, initSeed: 3, data: DEFAULT_SPIRAL };

export function checkConfig(c: DataParallelConfig): DataParallelConfig {
  if (c === null || typeof c !== 'object') throw new TransportError('EINVAL', `config must be an object such as ${JSON.stringify(DEFAULT_CONFIG)} (got ${String(c)})`);
  for (const name of ['steps', 'perRankBatch', 'hidden'] as const) {
    if (!Number.isSafeInteger(c[name]) || c[name] <= 0) throw new TransportError('EINVAL', `config.${name} must be a positive integer (got ${String(c[name])})`);
  }
  if (!(c.learningRate > 0)) throw new TransportError('EINVAL', `config.learningRate must be a positive number (got ${String(c.learningRate)})`);
  if (c.depth !== undefined && (!Number.isSafeInteger(c.depth) || c.depth < 1 || c.depth > MAX_DEPTH)) {
    throw new TransportError('EINVAL', `config.depth must be an integer in [1, ${MAX_DEPTH}] (got ${String(c.depth)})`);
  }
  if (c.mode !== undefined && !(EXCHANGE_MODES as readonly unknown[]).includes(c.mode)) throw new TransportError('EINVAL', `config.mode must be one of ${EXCHANGE_MODES.join(', ')} (got ${String(c.mode)})`);
  if (c.bucketBytes !== undefined && (!Number.isSafeInteger(c.bucketBytes) || c.bucketBytes < 4)) {
    throw new TransportError('EINVAL', `config.bucketBytes must be an integer of at least 4 (got ${String(c.bucketBytes)})`);
  }
  if (c.commHook !== undefined && !(HOOK_NAMES as readonly unknown[]).includes(c.commHook)) throw new TransportError('EINVAL', `config.commHook must be one of ${HOOK_NAMES.join(', ')} (got ${String(c.commHook)})`);
  if (c.mode !== 'ddp' && (c.bucketBytes !== undefined || c.commHook !== undefined)) {
    throw new TransportError('EINVAL', `config.bucketBytes and config.commHook apply to mode 'ddp' only (mode is '${c.mode ?? 'blocking'}')`);
  }
  if (!Number.isSafeInteger(c.initSeed)) throw new TransportError('EINVAL', `config.initSeed must be an integer (got ${String(c.initSeed)})`);
  checkSpiral(c.data);
  return c;
}

/** The bucket size the ddp mode uses. */
export const bucketBytesOf = (c: DataParallelConfig): number => c.bucketBytes ?? DEFAULT_BUCKET_BYTES;

/** Rows [start, end) of the global batch of `step` that `rank` of `ranks` trains on. */
export function rowsOfRank(c: DataParallelConfig, step: number, rank: number, ranks: number): { start: number; end: number } {
  const start = step * ranks * c.perRankBatch + rank * c.perRankBatch;
  return { start, end: start + c.perRankBatch };
}
