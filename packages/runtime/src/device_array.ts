import { type Pool, TransportError } from '@collective/transport';
import { DTYPE_BYTES, type Dtype } from './dtypes.js';

/** A typed view of device memory: what collectives take, like a device pointer plus a count. */
export type DeviceArray =
  | Float32Array
  | Float64Array
  | Int8Array
  | Uint8Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | Uint16Array;

/** The dtype a view implies; Uint16Array is float16 unless told bfloat16. */
export function dtypeOf(a: DeviceArray, hint?: Dtype): Dtype {
  let d: Dtype;
  if (a instanceof Float32Array) d = 'float32';
  else if (a instanceof Float64Array) d = 'float64';
  else if (a instanceof Int8Array) d = 'int8';
  else if (a instanceof Uint8Array) d = 'uint8';
  else if (a instanceof Int32Array) d = 'int32';
  else if (a instanceof Uint32Array) d = 'uint32';
  else if (a instanceof BigInt64Array) d = 'int64';
  else if (a instanceof Uint16Array) d = hint === 'bfloat16' ? 'bfloat16' : 'float16';
  else throw new TransportError('EINVAL', 'buffers must be typed arrays over device memory (Float32Array, …, Uint16Array for float16/bfloat16)');
  if (hint !== undefined && hint !== d) {
    throw new TransportError('EINVAL', `options.dtype is ${hint} but the buffer is a ${a.constructor.name} (${d})`);
  }
  return d;
}

/** Pool byte offset of a view, refusing memory outside the pool (the engine never copies host arrays). */
export function poolOffset(pool: Pool, a: DeviceArray, what: string): number {
  if (a.buffer !== pool.memory.buffer) {
    throw new TransportError('EINVAL', `${what} is not in device memory; allocate it with ctx.alloc() in a launched function (or device.allocate() and viewOf())`);
  }
  return a.byteOffset;
}

const CTORS = {
  float32: Float32Array,
  float64: Float64Array,
  float16: Uint16Array,
  bfloat16: Uint16Array,
  int8: Int8Array,
  uint8: Uint8Array,
  int32: Int32Array,
  uint32: Uint32Array,
  int64: BigInt64Array,
} as const;

/** A typed view of `count` elements of `dtype` at pool byte `offset`. */
export function viewOf(pool: Pool, dtype: Dtype, offset: number, count: number): DeviceArray {
  if (offset % DTYPE_BYTES[dtype] !== 0) throw new TransportError('EINVAL', `offset ${offset} is not aligned to ${dtype}`);
  return new CTORS[dtype](pool.memory.buffer as ArrayBuffer, offset, count);
}
