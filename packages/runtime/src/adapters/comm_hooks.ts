import type { DeviceContext } from '../device_context.js';
import type { CommHook } from './data_parallel.js';

/** Per device task, the bfloat16 copy of each bucket: allocated once, reused every step. */
const copies = new WeakMap<DeviceContext, Map<number, Uint16Array>>();

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** float32 → bfloat16, rounding to nearest even; NaN stays a quiet NaN. */
export function toBfloat16(x: number): number {
  f32[0] = x;
  const u = u32[0]!;
  if ((u & 0x7fffffff) > 0x7f800000) return ((u >>> 16) | 0x40) & 0xffff;
  return ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) & 0xffff;
}

export function fromBfloat16(b: number): number {
  u32[0] = b << 16;
  return f32[0]!;
}

/**
 * torch's bf16_compress_hook: the bucket is rounded to bfloat16, all-reduced
 * (avg, accumulated in float32 by the kernels and rounded once) at half the
 * bytes, and widened back into the float32 bucket when the Work finishes.
 * Every rank gets the same bits; against the float32 average the error is
 * that of bfloat16 (8 significant bits).
 */
export const bf16CompressHook: CommHook = (bucket, stream, ctx) => {
  let mine = copies.get(ctx);
  if (!mine) copies.set(ctx, (mine = new Map()));
  let c = mine.get(bucket.index);
  if (!c || c.length !== bucket.grads.length) {
    c = ctx.alloc('bfloat16', bucket.grads.length);
    mine.set(bucket.index, c);
  }
  const g = bucket.grads;
  const copy = c;
  for (let i = 0; i < g.length; i++) copy[i] = toBfloat16(g[i]!);
  const work = stream.allReduceAsync(copy, copy, { op: 'avg', dtype: 'bfloat16' });
  return {
    work,
    finish() {
      for (let i = 0; i < g.length; i++) g[i] = fromBfloat16(copy[i]!);
    },
  };
};
