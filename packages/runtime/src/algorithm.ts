import type { Call } from './call.js';
import { Buf } from './connectors/connector.js';
import type { Prims } from './primitives.js';
import type { AlgorithmName, Protocol } from './algorithm_names.js';

// The names and codes live below the primitives, for descriptors and tables that need no schedule.
export { ALGO_CODE, algoCode, algoOfCode, ALGORITHMS, type AlgorithmName, type Protocol, PROTOCOLS } from './algorithm_names.js';

/**
 * An algorithm is a schedule of primitives (NCCL's runRing over
 * Primitives, Gloo's AllreduceRing over Pair/Buffer): it names peers,
 * channels and its own buffers by role, and the primitives move and reduce
 * the bytes through whatever connector serves each peer.
 */
export interface Algorithm {
  readonly name: AlgorithmName;
  readonly proto: Protocol;
  /** code of (name, proto) in descriptors and flags */
  readonly code: number;
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

/**
 * Reduces every rank's input, read where it lies, into this rank's output
 * a piece at a time, in rank order (so results match bitwise wherever it
 * runs): the body of the direct all-reduce and of reduce on the root.
 */
export function reduceEveryInput(p: Prims, call: Call): void {
  const eb = call.elemBytes;
  const per = Math.max(1, Math.floor(p.pieceBytes / eb));
  const srcs = p.srcs(p.size);
  for (let start = 0; start < call.count; start += per) {
    const len = Math.min(per, call.count - start);
    for (let q = 0; q < p.size; q++) srcs[q] = p.source(q, Buf.SEND, start * eb, len * eb);
    p.reduce(call, p.local(Buf.RECV, start * eb), srcs, len, 0, call.divisor);
  }
}
