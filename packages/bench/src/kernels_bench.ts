import type { Writable } from 'node:stream';
import { Bench } from 'tinybench';
import { DTYPE_BYTES, type Dtype, ReduceKernels, viewOf } from '@collective/runtime';
import { Device, Pool, TransportError } from '@collective/transport';
import { checkFits, kernelPoolBytes, kernelSizeLimit } from './pool_limits.js';

export interface KernelBenchOptions {
  bytes: number;
  sources: number;
  timeMs: number;
  dtypes: Dtype[];
}

export interface KernelFigure {
  dtype: Dtype;
  simdGBs: number;
  scalarGBs: number;
}

/**
 * tinybench micro-benchmarks of the sum kernels, SIMD against scalar, per
 * dtype. GB/s counts bytes read plus bytes written.
 */
export async function runKernelBench(o: KernelBenchOptions, out: Writable): Promise<KernelFigure[]> {
  if (!Number.isSafeInteger(o.sources) || o.sources < 1) throw new TransportError('EINVAL', `--sources must be a positive integer (got ${o.sources})`);
  checkFits('--bytes', o.bytes, kernelSizeLimit(o.sources));
  const pool = Pool.create({ bytes: kernelPoolBytes(o.bytes, o.sources) });
  const dev = Device.open(pool, 0);
  const table = dev.allocate(4096);
  const bufs = Array.from({ length: o.sources + 1 }, () => dev.allocate(Math.ceil(o.bytes / 4096) * 4096));
  const fillOnes = (dtype: Dtype) => {
    // 1.0 in each type: byte patterns of all-ones bytes would be float16
    // subnormals, which cost every CPU a microcode assist.
    for (const b of bufs) {
      const v = viewOf(pool, dtype, b.offset, Math.floor(o.bytes / DTYPE_BYTES[dtype])) as unknown as { fill(x: number | bigint): void };
      v.fill(dtype === 'float16' ? 0x3c00 : dtype === 'bfloat16' ? 0x3f80 : dtype === 'int64' ? 1n : 1);
    }
  };
  const kernels = { simd: new ReduceKernels(pool, 'simd', table.offset), scalar: new ReduceKernels(pool, 'scalar', table.offset + 1024) };
  const srcs = bufs.slice(1).map((b) => b.offset);
  const figures: KernelFigure[] = [];
  out.write(`# reduce kernels: sum of ${o.sources} sources, ${o.bytes} bytes each, tinybench ${o.timeMs} ms per task\n`);
  out.write(`#      dtype    simd (GB/s)  scalar (GB/s)  speed-up\n`);
  for (const dtype of o.dtypes) {
    const count = Math.floor(o.bytes / DTYPE_BYTES[dtype]);
    fillOnes(dtype);
    const bench = new Bench({ time: o.timeMs, warmupTime: Math.min(50, o.timeMs) });
    for (const flavor of ['simd', 'scalar'] as const) {
      bench.add(flavor, () => kernels[flavor].reduce('sum', dtype, bufs[0]!.offset, srcs, count));
    }
    await bench.run();
    const gbs = (name: string) => {
      const r = bench.tasks.find((t) => t.name === name)!.result;
      if (r.state !== 'completed') throw new Error(`kernel benchmark ${dtype}/${name} did not complete (${r.state})`);
      return ((o.sources + 1) * count * DTYPE_BYTES[dtype]) / (r.latency.mean * 1e6);
    };
    const f = { dtype, simdGBs: gbs('simd'), scalarGBs: gbs('scalar') };
    figures.push(f);
    out.write(`${dtype.padStart(12)} ${f.simdGBs.toFixed(2).padStart(14)} ${f.scalarGBs.toFixed(2).padStart(14)} ${`${(f.simdGBs / f.scalarGBs).toFixed(1)}x`.padStart(9)}\n`);
  }
  dev.close();
  return figures;
}

