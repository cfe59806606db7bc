import { TransportError } from '@collective/transport';

/** Element types of NCCL's ncclDataType_t that the runtime supports. */
export const DTYPES = ['float32', 'float64', 'float16', 'bfloat16', 'int8', 'uint8', 'int32', 'uint32', 'int64'] as const;
export type Dtype = (typeof DTYPES)[number];

export const DTYPE_BYTES: Record<Dtype, number> = {
  float32: 4,
  float64: 8,
  float16: 2,
  bfloat16: 2,
  int8: 1,
  uint8: 1,
  int32: 4,
  uint32: 4,
  int64: 8,
};

export const DTYPE_CODE: Record<Dtype, number> = {
  float32: 0,
  float64: 1,
  float16: 2,
  bfloat16: 3,
  int8: 4,
  uint8: 5,
  int32: 6,
  uint32: 7,
  int64: 8,
};

export function checkDtype(name: string, v: unknown): Dtype {
  if (typeof v !== 'string' || !(DTYPES as readonly string[]).includes(v)) {
    throw new TransportError('EINVAL', `${name} must be one of ${DTYPES.join(', ')} (got ${String(v)})`);
  }
  return v as Dtype;
}
