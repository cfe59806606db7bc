import type { Pool } from '@collective/transport';
import { DTYPE_CODE, DTYPES, type Dtype } from '../dtypes.js';
import { OP_CODE, type ReduceOp } from '../ops.js';
import { KERNELS_SCALAR, KERNELS_SIMD } from './kernels_wasm.js';
import { envSetting } from '@collective/transport/runtime';

type KernelFn = (dst: number, table: number, nsrc: number, count: number, divisor: number, flags: number) => void;
type CopyFn = (dst: number, src: number, bytes: number) => void;
type LlPostFn = (flagAt: number, dst: number, src: number, bytes: number, flag: number, sleepers: number) => number;
type SpinFn = (addr: number, want: number, spins: number) => number;

/** Up to this many bytes a byte loop beats the call into WebAssembly. */
const SMALL_COPY_BYTES = 64;

/** flags for float16/bfloat16 ring and tree partials carried in float32 */
export const SRC0_F32 = 1;
export const DST_F32 = 2;

export type KernelFlavor = 'simd' | 'scalar';

/** The kernels' bytes from their base64 text (atob: Node and browsers both have it). */
function fromBase64(text: string): Uint8Array {
  const raw = atob(text);
  const bytes = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
  return bytes;
}

const SIMD_BYTES = fromBase64(KERNELS_SIMD);
const SCALAR_BYTES = fromBase64(KERNELS_SCALAR);

/** Whether this engine runs the SIMD build; COLLECTIVE_KERNELS=scalar forces the fallback. */
export function defaultFlavor(): KernelFlavor {
  if (envSetting('COLLECTIVE_KERNELS') === 'scalar') return 'scalar';
  return WebAssembly.validate(SIMD_BYTES) ? 'simd' : 'scalar';
}

const modules = new Map<KernelFlavor, WebAssembly.Module>();

/**
 * Reduce kernels instantiated over the pool's own memory: they read and
 * write device buffers in place, with no copy into a separate heap.
 */
export class ReduceKernels {
  /** indexed by OP_CODE * 16 + DTYPE_CODE; avg runs the sum kernel with a divisor */
  private readonly fns: KernelFn[] = [];
  private readonly table: Int32Array;
  private readonly copyFn: CopyFn;
  private readonly mem: Uint8Array;
  /**
   * ll post: `bytes` from `src` to `dst`, then `flag` into the word at
   * byte `flagAt` (an atomic store), then returns the sleeper count at byte
   * `sleepers` (an atomic load): the caller notifies only if someone sleeps.
   */
  readonly llPost: LlPostFn;
  /**
   * Spins up to `spins` atomic loads of the word at byte `addr` until its
   * high 16 bits equal `want`; returns the last value read.
   */
  readonly spinHi16: SpinFn;

  /**
   * `tableOffset` is 256 bytes of pool memory this thread alone uses for
   * the kernels' source-pointer table.
   */
  constructor(
    readonly pool: Pool,
    readonly flavor: KernelFlavor,
    readonly tableOffset: number,
  ) {
    let mod = modules.get(flavor);
    if (!mod) {
      mod = new WebAssembly.Module(flavor === 'simd' ? SIMD_BYTES : SCALAR_BYTES);
      modules.set(flavor, mod);
    }
    const instance = new WebAssembly.Instance(mod, { env: { memory: pool.memory } });
    for (const op of ['sum', 'prod', 'min', 'max', 'avg'] as const) {
      for (const dt of DTYPES) {
        this.fns[OP_CODE[op] * 16 + DTYPE_CODE[dt]] = instance.exports[`reduce_${op === 'avg' ? 'sum' : op}_${dt}`] as KernelFn;
      }
    }
    this.table = new Int32Array(pool.memory.buffer, tableOffset, 64);
    this.copyFn = instance.exports.copy as CopyFn;
    this.llPost = instance.exports.ll_post as LlPostFn;
    this.spinHi16 = instance.exports.spin_hi16 as SpinFn;
    this.mem = new Uint8Array(pool.memory.buffer);
  }

  /**
   * memmove inside the pool. WebAssembly's memory.copy runs at memory
   * speed; TypedArray.copyWithin on shared memory copies word by word and
   * was measured several times slower here.
   */
  copy(dst: number, src: number, bytes: number): void {
    if (bytes <= 0 || dst === src) return;
    if (bytes <= SMALL_COPY_BYTES && (dst >= src + bytes || src >= dst + bytes)) {
      const m = this.mem;
      for (let i = 0; i < bytes; i++) m[dst + i] = m[src + i]!;
      return;
    }
    this.copyFn(dst, src, bytes);
  }

  fn(op: ReduceOp, dtype: Dtype): KernelFn {
    return this.fns[OP_CODE[op] * 16 + DTYPE_CODE[dtype]]!;
  }

  /** dst = srcs[0] op srcs[1] op ...; offsets are pool byte offsets. */
  reduce(op: ReduceOp, dtype: Dtype, dst: number, srcs: readonly number[], count: number, divisor = 1, flags = 0): void {
    const t = this.table;
    for (let i = 0; i < srcs.length; i++) t[i] = srcs[i]!;
    this.fn(op, dtype)(dst, this.tableOffset, srcs.length, count, divisor, flags);
  }
}
