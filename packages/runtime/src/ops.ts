import { TransportError } from '@collective/transport';

/** ncclRedOp_t: avg is sum divided by the number of ranks. */
export const OPS = ['sum', 'prod', 'min', 'max', 'avg'] as const;
export type ReduceOp = (typeof OPS)[number];

export const OP_CODE: Record<ReduceOp, number> = { sum: 0, prod: 1, min: 2, max: 3, avg: 4 };

export function checkOp(name: string, v: unknown): ReduceOp {
  if (typeof v !== 'string' || !(OPS as readonly string[]).includes(v)) {
    throw new TransportError('EINVAL', `${name} must be one of ${OPS.join(', ')} (got ${String(v)})`);
  }
  return v as ReduceOp;
}
