import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import type { Writable } from 'node:stream';
import { DTYPE_BYTES, type Dtype, type ReduceOp, World } from '@collective/runtime';
import { TransportError } from '@collective/transport';
import { type CollectiveName, SPECS } from './collectives.js';
import type { Sample, WorkerArgs } from './collective_worker.js';
import { footer, formatRow, header, type Row } from './format_table.js';
import { type MpiSample, runMpiPeer } from './mpi_peer.js';
import { plotSvg } from './plot_svg.js';
import { Progress } from './progress.js';

export interface CollectiveBenchOptions {
  collective: CollectiveName;
  sizes: number[];
  devices: number;
  iters: number;
  warmup: number;
  check: boolean;
  ops: ReduceOp[];
  dtypes: Dtype[];
  root: number;
  algo?: string;
  minTimeMs: number;
  json?: string;
  plot?: string;
  mpi?: string;
  progress: boolean;
}

export interface CollectiveBenchResult {
  rows: Row[];
  wrong: number;
}

const MAX_POOL = 2 * 1024 * 1024 * 1024;
/** JIT settling before the first timed size of a run */
const SETTLE_MS = 400;

function poolBytesFor(devices: number, maxBytes: number): number {
  // Send and receive buffer per device, scratch, endpoints, slack.
  const need = devices * (2 * Math.ceil(maxBytes / 4096) * 4096 + 3 * 1024 * 1024) + 32 * 1024 * 1024;
  const rounded = Math.ceil(need / 65536) * 65536;
  if (rounded > MAX_POOL) {
    throw new TransportError('EINVAL', `-e ${maxBytes} with ${devices} devices needs ${rounded} bytes of device memory, above the 2 GiB pool limit; lower -e or -g`);
  }
  return rounded;
}

function toRow(s: Sample, dtype: Dtype, redop: string, root: number, factor: number): Row {
  const algbw = (us: number) => (Number.isFinite(us) && us > 0 ? s.bytes / us / 1000 : NaN);
  return {
    ...s,
    dtype,
    redop,
    root,
    outAlgbw: algbw(s.outUs),
    outBusbw: algbw(s.outUs) * factor,
    inAlgbw: algbw(s.inUs),
    inBusbw: algbw(s.inUs) * factor,
  };
}

/** nccl-tests for this runtime: one collective over a size sweep, per dtype and op. */
export async function runCollectiveBench(o: CollectiveBenchOptions, out: Writable): Promise<CollectiveBenchResult> {
  const spec = SPECS[o.collective];
  if (spec.rooted && (o.root < 0 || o.root >= o.devices)) throw new TransportError('EINVAL', `-r ${o.root} is not a rank of ${o.devices} devices; use 0..${o.devices - 1}`);
  const maxBytes = Math.max(...o.sizes);
  const world = await World.start({ devices: o.devices, poolBytes: poolBytesFor(o.devices, maxBytes) });
  const rows: Row[] = [];
  const ops = spec.reducing ? o.ops : (['sum'] as ReduceOp[]);
  const progress = new Progress(o.progress, ops.length * o.dtypes.length * o.sizes.length);
  const factor = spec.busFactor(o.devices);
  let mpi: MpiSample[] | undefined;
  try {
    out.write(`# collective-bench ${o.collective}: ${o.devices} device(s) on ${cpus().length} core(s), warmup ${o.warmup}, iterations ${o.iters || 'auto'}, check ${o.check ? 1 : 0}, algorithm ${o.algo ?? 'tuned'}\n#\n`);
    if (o.mpi) {
      const op = o.collective === 'all_reduce' ? 'allreduce' : o.collective === 'all_gather' ? 'allgather' : undefined;
      if (!op) throw new TransportError('EINVAL', '--mpi compares all_reduce and all_gather only');
      mpi = runMpiPeer(o.mpi, op, o.devices, Math.min(...o.sizes), maxBytes);
    }
    for (const line of header(mpi !== undefined)) out.write(`${line}\n`);
    for (const dtype of o.dtypes) {
      for (const op of ops) {
        for (const size of o.sizes) {
          if (size < DTYPE_BYTES[dtype] * (spec.perRankBlocks ? o.devices : 1) && size > 0) continue;
          const args: WorkerArgs = { collective: o.collective, sizes: [size], dtype, op, root: o.root, iters: o.iters, warmup: o.warmup, check: o.check, minTimeMs: o.minTimeMs, ...(o.algo !== undefined && { algo: o.algo }) };
          if (rows.length === 0) args.settleMs = SETTLE_MS;
          progress.tick(`${o.collective} ${dtype} ${op} ${size} B`);
          const perRank = await world.launch<Sample[]>(new URL('./collective_worker.js', import.meta.url), args);
          // A collective is as slow as its slowest rank; #wrong adds up over ranks.
          const merged: Sample = { ...perRank[0]![0]! };
          for (const samples of perRank.slice(1)) {
            const s = samples[0]!;
            merged.outUs = Math.max(merged.outUs, s.outUs);
            merged.inUs = Math.max(merged.inUs, s.inUs);
            merged.outWrong += s.outWrong;
            merged.inWrong += s.inWrong;
          }
          const row = toRow(merged, dtype, spec.reducing ? op : 'none', spec.rooted ? o.root : -1, factor);
          const m = mpi?.find((x) => x.bytes === row.bytes);
          if (mpi && dtype === 'float32' && op === 'sum') {
            row.mpiUs = m?.us ?? NaN;
            row.mpiBusbw = m?.busbw ?? NaN;
          }
          rows.push(row);
          progress.clear();
          out.write(`${formatRow(row)}\n`);
        }
      }
    }
  } finally {
    progress.clear();
    await world.close();
  }
  for (const line of footer(rows)) out.write(`${line}\n`);
  const wrong = rows.reduce((s, r) => s + r.outWrong + (Number.isFinite(r.inUs) ? r.inWrong : 0), 0);
  if (o.json) writeFileSync(o.json, `${JSON.stringify({ collective: o.collective, devices: o.devices, cores: cpus().length, rows, mpi }, null, 2)}\n`);
  if (o.plot) writeFileSync(o.plot, plotSvg(`${o.collective} on ${o.devices} device(s), ${o.dtypes.join('/')} ${spec.reducing ? o.ops.join('/') : ''}`, rows));
  return { rows, wrong };
}
