import type { Dtype } from './dtypes.js';
import type { ReduceOp } from './ops.js';
import type { CollectiveKind } from './collective_kind.js';
import type { Prims } from './primitives.js';

export const ALGORITHMS = ['oneshot', 'twoshot', 'ring', 'tree', 'direct'] as const;
export type AlgorithmName = (typeof ALGORITHMS)[number];
export const ALGO_CODE: Record<AlgorithmName, number> = { oneshot: 1, twoshot: 2, ring: 3, tree: 4, direct: 5 };

/** One call as every rank agreed on it. Buffers are named by role, never by address. */
export interface Call {
  kind: CollectiveKind;
  count: number;
  dtype: Dtype;
  elemBytes: number;
  op: ReduceOp;
  root: number;
  /** divisor for avg, else 1 */
  divisor: number;
  seq: number;
  /** send and recv are the same bytes */
  inPlace: boolean;
  /** scratch parity prepare() staged this rank's input in, or -1 */
  staged: number;
}

/**
 * An algorithm is a schedule of primitives (NCCL's runRing over
 * Primitives, Gloo's AllreduceRing over Pair/Buffer): it names peers,
 * channels and its own buffers by role, and the primitives move and reduce
 * the bytes through whatever connector serves each peer.
 */
export interface Algorithm {
  readonly name: AlgorithmName;
  /** Work before this rank announces the call (staging a small input for peers). */
  prepare?(p: Prims, call: Call): void;
  run(p: Prims, call: Call): void;
}

/** Splits `count` elements into `parts` near-equal chunks: [start, length] of chunk i. */
export function chunk(count: number, parts: number, i: number): [number, number] {
  const base = Math.floor(count / parts);
  const extra = count % parts;
  const start = i * base + Math.min(i, extra);
  return [start, base + (i < extra ? 1 : 0)];
}
