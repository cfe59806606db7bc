import type { Algorithm } from '../algorithm.js';
import type { CollectiveKind } from '../collective_kind.js';
import type { DeviceArray } from '../device_array.js';
import type { Dtype } from '../dtypes.js';
import type { ReduceOp } from '../ops.js';

/** A collective as the public API hands it over, validated. */
export interface CallRequest {
  kind: CollectiveKind;
  send: DeviceArray | undefined;
  recv: DeviceArray | undefined;
  /** their byteOffsets, read once */
  sendOff: number;
  recvOff: number;
  count: number;
  dtype: Dtype;
  op: ReduceOp;
  /** avg divides by this many ranks; 0: the communicator's size (a hierarchy's last step passes its parent's) */
  avgOver: number;
  root: number;
  timeoutMs: number;
  alg: Algorithm | undefined;
  /** send and recv are the same bytes */
  inPlace: boolean;
  /** bytes the call reads from send and writes to recv on this rank */
  reads: boolean;
  writes: boolean;
}
