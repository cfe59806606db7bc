import { TransportError } from '@collective/transport';
import { type AlgorithmName, type Protocol, PROTOCOLS } from './algorithm.js';
import type { CollectiveKind } from './collective_kind.js';
import { checkDtype, type Dtype } from './dtypes.js';
import { checkOp, type ReduceOp } from './ops.js';
import { algorithmNames } from './tuner.js';

export interface CollectiveOptions {
  op?: ReduceOp;
  /** needed only to call a Uint16Array bfloat16 */
  dtype?: Dtype;
  root?: number;
  /** force an algorithm; also COLLECTIVE_ALGO */
  algo?: AlgorithmName | string;
  /** force a protocol (ll or simple); also COLLECTIVE_PROTO */
  proto?: Protocol | string;
  timeoutMs?: number;
}

export interface P2pOptions {
  dtype?: Dtype;
  timeoutMs?: number;
}

// Per call, when an algorithm is forced: the names of a kind, built once.
const namesOf = new Map<string, readonly string[]>();

/**
 * Refuses a collective's bad options the same way wherever it is called
 * (a communicator, a stream, the World's single controller), before
 * anything is announced to peers. What needs the call's buffers (dtype
 * against the arrays, lengths) is checked by each entry beside it.
 */
export function checkCollectiveOptions(kind: CollectiveKind, opts: unknown, size: number): CollectiveOptions {
  if (opts === null || typeof opts !== 'object') throw new TransportError('EINVAL', `options must be an object (got ${String(opts)})`);
  const o = opts as CollectiveOptions;
  if (o.dtype !== undefined) checkDtype('options.dtype', o.dtype);
  if (o.op !== undefined) checkOp('options.op', o.op);
  if (o.root !== undefined && (!Number.isInteger(o.root) || o.root < 0 || o.root >= size)) {
    throw new TransportError('EINVAL', `options.root must be an integer in [0, ${size}) (got ${String(o.root)})`);
  }
  if (o.algo !== undefined) {
    let names = namesOf.get(kind);
    if (!names) namesOf.set(kind, (names = algorithmNames(kind)));
    // A barrier has no algorithms to choose from: a forced one does not apply to it.
    if (names.length > 0 && !names.includes(o.algo)) throw new TransportError('EINVAL', `options.algo '${String(o.algo)}' is not an algorithm of ${kind}; choose from ${names.join(', ')}`);
  }
  if (o.proto !== undefined && !(PROTOCOLS as readonly string[]).includes(o.proto)) {
    throw new TransportError('EINVAL', `options.proto must be one of ${PROTOCOLS.join(', ')} (got ${String(o.proto)})`);
  }
  checkTimeoutOption(o);
  return o;
}

/** options.timeoutMs, where a call takes only that (barrier, point to point). */
export function checkTimeoutOption(opts: { timeoutMs?: unknown }): void {
  const t = opts.timeoutMs;
  if (t !== undefined && (typeof t !== 'number' || !Number.isSafeInteger(t) || t <= 0)) {
    throw new TransportError('EINVAL', `options.timeoutMs must be a positive integer (got ${String(t)})`);
  }
}
