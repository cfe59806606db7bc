import type { Dtype } from './dtypes.js';
import type { ReduceOp } from './ops.js';
import type { CollectiveKind } from './collective_kind.js';
import type { ReduceKernels } from './kernels/reduce_kernels.js';

export const ALGORITHMS = ['oneshot', 'twoshot', 'ring', 'tree', 'direct'] as const;
export type AlgorithmName = (typeof ALGORITHMS)[number];
export const ALGO_CODE: Record<AlgorithmName, number> = { oneshot: 1, twoshot: 2, ring: 3, tree: 4, direct: 5 };

/** One call as every rank agreed on it (descriptors matched). */
export interface Call {
  kind: CollectiveKind;
  count: number;
  dtype: Dtype;
  elemBytes: number;
  op: ReduceOp;
  root: number;
  /** this rank's pool byte offsets */
  send: number;
  recv: number;
  seq: number;
  /** scratch slot an algorithm's prepare() staged into, or -1 */
  staged: number;
}

/**
 * What an algorithm sees: its rank, the peers' published buffers and
 * registered scratch, and signals. Never a provider's internals.
 */
export interface AlgoComm {
  readonly rank: number;
  readonly size: number;
  readonly kernels: ReduceKernels;
  readonly mem: Uint8Array;
  /** bytes of each of the two scratch slots of every rank */
  readonly slotBytes: number;
  /** pool offset of slot `parity` of rank q's scratch */
  scratch(q: number, parity: number): number;
  peerSend(q: number): number;
  peerRecv(q: number): number;
  /** Full barrier inside a call: every rank arrives before any leaves. */
  arriveAll(): void;
  /** Posts this rank's progress `k` (relative to the call) for peers to wait on. */
  postStep(k: number): void;
  waitStep(q: number, k: number): void;
  /** Advances the step base by `total` steps; identical on every rank. */
  finishSteps(total: number): void;
  /** Advances the oneshot slot counter; identical on every rank. */
  nextPiece(): number;
  copy(dst: number, src: number, bytes: number): void;
  /** divisor for avg, else 1 */
  readonly divisor: number;
  /** A reusable array for kernel source offsets. */
  sources(n: number): number[];
}

export interface Algorithm {
  readonly name: AlgorithmName;
  /** Work done before this rank announces the call (e.g. staging into scratch). */
  prepare?(c: AlgoComm, call: Call): void;
  run(c: AlgoComm, call: Call): void;
}

/** Splits `count` elements into `parts` near-equal chunks: [start, length] of chunk i. */
export function chunk(count: number, parts: number, i: number): [number, number] {
  const base = Math.floor(count / parts);
  const extra = count % parts;
  const start = i * base + Math.min(i, extra);
  return [start, base + (i < extra ? 1 : 0)];
}
