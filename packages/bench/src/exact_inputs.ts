import type { Dtype, ReduceOp } from '@collective/runtime';

/**
 * Inputs built so every reduction order gives the exact same value: small
 * integers for sum/avg, powers of two for prod. The check is then 0-ulp
 * (avg, a division, gets a small tolerance).
 */
export function inputValue(op: ReduceOp, rank: number, i: number): number {
  if (op === 'prod') return (rank + i) % 3 === 0 ? 2 : 1;
  if (op === 'min' || op === 'max') return ((rank * 3 + i) % 7) + 1;
  return ((rank + i) % 4) + 1;
}

export function expectedReduce(op: ReduceOp, n: number, i: number): number {
  let acc = inputValue(op, 0, i);
  for (let q = 1; q < n; q++) {
    const v = inputValue(op, q, i);
    if (op === 'sum' || op === 'avg') acc += v;
    else if (op === 'prod') acc *= v;
    else if (op === 'min') acc = Math.min(acc, v);
    else acc = Math.max(acc, v);
  }
  return op === 'avg' ? acc / n : acc;
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

function toHalf(v: number): number {
  // Only small integers and their simple quotients are encoded here.
  if (v === 0) return 0;
  const sign = v < 0 ? 0x8000 : 0;
  const a = Math.abs(v);
  const e = Math.floor(Math.log2(a));
  const m = Math.round((a / 2 ** e - 1) * 1024);
  return sign | ((e + 15) << 10) | m;
}

function fromHalf(h: number): number {
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  const v = e === 0 ? m * 2 ** -24 : (1 + m / 1024) * 2 ** (e - 15);
  return h & 0x8000 ? -v : v;
}

/** Stored representation of `v` for dtype. */
export function encode(dtype: Dtype, v: number): number | bigint {
  if (dtype === 'float16') return toHalf(v);
  if (dtype === 'bfloat16') {
    f32[0] = v;
    return u32[0]! >>> 16;
  }
  if (dtype === 'int64') return BigInt(Math.trunc(v));
  return v;
}

export function decode(dtype: Dtype, stored: number | bigint): number {
  if (dtype === 'float16') return fromHalf(Number(stored));
  if (dtype === 'bfloat16') {
    u32[0] = Number(stored) << 16;
    return f32[0]!;
  }
  return Number(stored);
}

/** Whether `got` is right: exact, except avg, which divides (ints truncate). */
export function matches(dtype: Dtype, op: ReduceOp, got: number, want: number): boolean {
  if (op !== 'avg') return got === want;
  const isInt = !dtype.startsWith('float') && dtype !== 'bfloat16';
  if (isInt) return got === Math.trunc(want);
  const tol = dtype === 'float16' || dtype === 'bfloat16' ? 1e-2 : 1e-6;
  return Math.abs(got - want) <= tol * Math.abs(want);
}
