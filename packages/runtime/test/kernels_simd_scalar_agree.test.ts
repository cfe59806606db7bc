import { describe, expect, it } from 'vitest';
import { DTYPES, ReduceKernels } from '@collective/runtime';
import { Device, Pool } from '@collective/transport';

const OPS = ['sum', 'prod', 'min', 'max', 'avg'] as const;
const BYTES: Record<string, number> = { float32: 4, float64: 8, float16: 2, bfloat16: 2, int8: 1, uint8: 1, int32: 4, uint32: 4, int64: 8 };

/** Deterministic bytes with the awkward values mixed in: NaN, ±0, ±inf, subnormals, extremes. */
function fill(bytes: Uint8Array, dtype: string, seed: number): void {
  let x = seed * 2654435761;
  for (let i = 0; i < bytes.length; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    bytes[i] = x >>> 24;
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const specials: Record<string, number[]> = {
    float32: [0x7fc00000, 0x80000000, 0, 0x7f800000, 0xff800000, 1, 0x00800000],
    float16: [0x7e00, 0x8000, 0, 0x7c00, 0xfc00, 1, 0x0400, 0x7bff],
    bfloat16: [0x7fc0, 0x8000, 0, 0x7f80, 0xff80, 1, 0x0080],
  };
  const sp = specials[dtype];
  if (!sp) return;
  for (let i = 0; i < sp.length && (i + 1) * BYTES[dtype]! <= bytes.length; i++) {
    const at = ((seed * 7 + i * 13) % Math.floor(bytes.length / BYTES[dtype]!)) * BYTES[dtype]!;
    if (dtype === 'float32') view.setUint32(at, sp[i]!, true);
    else view.setUint16(at, sp[i]!, true);
  }
}

describe('SIMD and scalar kernels', () => {
  it('produce identical bytes for every dtype, op, source count, length and flag', () => {
    const pool = Pool.create({ bytes: 16 << 20 });
    const dev = Device.open(pool, 0);
    const scratch = dev.allocate(1 << 20);
    const simd = new ReduceKernels(pool, 'simd', scratch.offset);
    const scalar = new ReduceKernels(pool, 'scalar', scratch.offset + 1024);
    const srcBase = scratch.offset + 4096;
    const MAXC = 1029;
    const outA = srcBase + 8 * MAXC * 8;
    const outB = outA + MAXC * 8 + 64;
    let cases = 0;
    for (const dtype of DTYPES) {
      const eb = BYTES[dtype]!;
      for (const nsrc of [1, 2, 3, 5]) {
        const srcs = Array.from({ length: nsrc }, (_, k) => srcBase + k * MAXC * 8);
        srcs.forEach((s, k) => fill(pool.u8(s, MAXC * 8), dtype, k + nsrc * 31));
        for (const op of OPS) {
          const lowp = dtype === 'float16' || dtype === 'bfloat16';
          for (const flags of lowp ? [0, 1, 2, 3] : [0]) {
            for (const count of [0, 1, 3, 4, 15, 16, 17, 33, 1029]) {
              const divisor = op === 'avg' ? nsrc : 1;
              const outBytes = count * (flags & 2 ? 4 : eb);
              pool.u8(outA, outBytes + 8).fill(0xcc);
              pool.u8(outB, outBytes + 8).fill(0xcc);
              simd.reduce(op, dtype, outA, srcs, count, divisor, flags);
              scalar.reduce(op, dtype, outB, srcs, count, divisor, flags);
              const a = pool.u8(outA, outBytes + 8);
              const b = pool.u8(outB, outBytes + 8);
              if (Buffer.compare(a, b) !== 0) {
                const i = a.findIndex((v, j) => v !== b[j]);
                throw new Error(`${op} ${dtype} nsrc=${nsrc} count=${count} flags=${flags}: byte ${i} differs (simd ${a[i]}, scalar ${b[i]})`);
              }
              // Nothing past the output is touched.
              expect(a[outBytes]).toBe(0xcc);
              cases++;
            }
          }
        }
      }
    }
    expect(cases).toBe(9 * 4 * 5 * 9 + 2 * 4 * 5 * 9 * 3);
  });
});
