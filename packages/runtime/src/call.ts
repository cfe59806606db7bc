import type { CollectiveKind } from './collective_kind.js';
import type { Dtype } from './dtypes.js';
import type { ReduceOp } from './ops.js';

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
  /** ll: the flag word this call's small slots carry (sequence and fingerprint) */
  flag: number;
}
