import type { Call } from './call.js';
import { Buf } from './connectors/connector.js';
import type { Prims } from './primitives.js';

export const ALGORITHMS = ['oneshot', 'twoshot', 'ring', 'tree', 'direct'] as const;
export type AlgorithmName = (typeof ALGORITHMS)[number];
export const ALGO_CODE: Record<AlgorithmName, number> = { oneshot: 1, twoshot: 2, ring: 3, tree: 4, direct: 5 };

/**
 * How bytes travel (NCCL's protocols): `ll` puts a small input and a flag
 * word carrying the call's sequence number and fingerprint in the sender's
 * own slot, in one cache line for the first 56 bytes, so a call costs one
 * line crossing per peer and no separate handshake; `simple` announces the
 * call (descriptor and sequence word) and moves data through registered
 * buffers or FIFOs.
 */
export const PROTOCOLS = ['ll', 'simple'] as const;
export type Protocol = (typeof PROTOCOLS)[number];

/** The algorithm code a descriptor carries: the protocol is part of it, so ranks on different protocols mismatch. */
export function algoCode(name: AlgorithmName, proto: Protocol): number {
  return ALGO_CODE[name] + (proto === 'll' ? 8 : 0);
}

export function algoOfCode(code: number): string {
  if (code === 0) return 'none';
  const ll = code > 8;
  const name = ALGORITHMS[(ll ? code - 8 : code) - 1] ?? String(code);
  return ll ? `${name}/ll` : name;
}

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
