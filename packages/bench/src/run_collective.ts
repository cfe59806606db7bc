import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import type { Writable } from 'node:stream';
import { algorithmNames, DTYPE_BYTES, type Dtype, PROTOCOLS, type ReduceOp, World } from '@collective/runtime';
import { TransportError } from '@collective/transport';
import { type CollectiveName, SPECS } from './collectives.js';
import type { Sample, WorkerArgs } from './collective_worker.js';
import { footer, formatRow, header, type Row, wrongCount } from './format_table.js';
import { checkMpiPeer, type MpiSample, mpiOpFor, runMpiPeer } from './mpi_peer.js';
import { checkOutputPath } from './output_path.js';
import { plotSvg } from './plot_svg.js';
import { checkFits, collectivePoolBytes, collectiveSizeLimit } from './pool_limits.js';
import { Progress } from './progress.js';
import { runMetadata } from './run_metadata.js';

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
  /** force a protocol (ll or simple); the tuner's choice otherwise */
  proto?: string;
  /** 'min' reports the fastest of the timed batches (tuning); the median otherwise */
  stat?: 'median' | 'min';
  /** force how devices reach each other (COLLECTIVE_CONNECTOR otherwise) */
  connector?: 'auto' | 'shm' | 'net';
  minTimeMs: number;
  json?: string;
  plot?: string;
  mpi?: string;
  progress: boolean;
  /** the command line, recorded in the JSON file (default: process.argv) */
  command?: string[];
}

export interface CollectiveBenchResult {
  rows: Row[];
  /** wrong values over every checked column; NaN when nothing was checked */
  wrong: number;
}

/** JIT settling before the first timed size of a run */
const SETTLE_MS = 400;

function toRow(s: Sample, dtype: Dtype, redop: string, root: number, factor: number, check: boolean, algo: string): Row {
  const algbw = (us: number) => (Number.isFinite(us) && us > 0 ? s.bytes / us / 1000 : NaN);
  return {
    ...s,
    // Unchecked results have no count of wrong values, not a count of zero.
    outWrong: check ? s.outWrong : NaN,
    inWrong: check ? s.inWrong : NaN,
    dtype,
    redop,
    root,
    algo,
    outAlgbw: algbw(s.outUs),
    outBusbw: algbw(s.outUs) * factor,
    inAlgbw: algbw(s.inUs),
    inBusbw: algbw(s.inUs) * factor,
  };
}

/** Everything that can be refused is refused here, before a line is printed or a thread started. */
function validate(o: CollectiveBenchOptions): void {
  if (!Number.isSafeInteger(o.devices) || o.devices < 1) throw new TransportError('EINVAL', `devices must be a positive integer (got ${o.devices})`);
  if (!Number.isSafeInteger(o.root) || o.root < 0 || o.root >= o.devices) {
    throw new TransportError('EINVAL', `-r ${o.root} is not a rank of ${o.devices} devices; use 0..${o.devices - 1}`);
  }
  const kind = SPECS[o.collective].kind;
  if (o.algo !== undefined) {
    const names: string[] = kind === 'sendRecv' ? [] : algorithmNames(kind);
    if (!names.includes(o.algo)) throw new TransportError('EINVAL', names.length === 0 ? `--algo: ${o.collective} has no algorithms to choose from; drop --algo` : `--algo must be one of ${names.join(', ')} for ${o.collective} (got ${o.algo})`);
  }
  if (o.proto !== undefined && !(PROTOCOLS as readonly string[]).includes(o.proto)) throw new TransportError('EINVAL', `--proto must be one of ${PROTOCOLS.join(', ')} (got ${o.proto})`);
  if (o.sizes.length === 0) throw new TransportError('EINVAL', 'the size sweep is empty; check -b, -e, -f and -i');
  checkFits('-e (the largest size)', Math.max(...o.sizes), collectiveSizeLimit(o.devices));
  if (o.json) checkOutputPath('--json', o.json);
  if (o.plot) checkOutputPath('--plot', o.plot);
  if (o.mpi !== undefined) {
    mpiOpFor(o.collective);
    checkMpiPeer(o.mpi);
  }
}

/** nccl-tests for this runtime: one collective over a size sweep, per dtype and op. */
export async function runCollectiveBench(o: CollectiveBenchOptions, out: Writable): Promise<CollectiveBenchResult> {
  validate(o);
  const started = new Date();
  const spec = SPECS[o.collective];
  const maxBytes = Math.max(...o.sizes);
  const algo = o.algo === undefined && o.proto === undefined ? 'tuned' : `${o.algo ?? 'tuned'}${o.proto ? `/${o.proto}` : ''}`;
  let mpi: MpiSample[] | undefined;
  if (o.mpi !== undefined) mpi = runMpiPeer(o.mpi, mpiOpFor(o.collective), o.devices, Math.min(...o.sizes), maxBytes);
  const world = await World.start({ devices: o.devices, poolBytes: collectivePoolBytes(o.devices, maxBytes), ...(o.connector !== undefined && { connector: o.connector }) });
  const rows: Row[] = [];
  const ops = spec.reducing ? o.ops : (['sum'] as ReduceOp[]);
  const progress = new Progress(o.progress, ops.length * o.dtypes.length * o.sizes.length);
  const factor = spec.busFactor(o.devices);
  try {
    out.write(`# collective-bench ${o.collective}: ${o.devices} device(s) on ${cpus().length} core(s), warmup ${o.warmup}, iterations ${o.iters || 'auto'}, check ${o.check ? 1 : 0}, algorithm ${algo}, connector ${o.connector ?? process.env.COLLECTIVE_CONNECTOR ?? 'auto'}\n#\n`);
    for (const line of header(mpi !== undefined)) out.write(`${line}\n`);
    for (const dtype of o.dtypes) {
      for (const op of ops) {
        for (const size of o.sizes) {
          if (size < DTYPE_BYTES[dtype] * (spec.perRankBlocks ? o.devices : 1) && size > 0) continue;
          const args: WorkerArgs = { collective: o.collective, sizes: [size], dtype, op, root: o.root, iters: o.iters, warmup: o.warmup, check: o.check, minTimeMs: o.minTimeMs, ...(o.algo !== undefined && { algo: o.algo }), ...(o.proto !== undefined && { proto: o.proto }), ...(o.stat !== undefined && { stat: o.stat }) };
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
          const row = toRow(merged, dtype, spec.reducing ? op : 'none', spec.rooted ? o.root : -1, factor, o.check, algo);
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
  if (o.json) {
    const meta = runMetadata(o.command ?? process.argv, started);
    const doc = {
      collective: o.collective,
      devices: o.devices,
      cores: meta.machine.cores,
      ...meta,
      iterations: o.iters === 0 ? 'auto' : o.iters,
      minTimeMs: o.minTimeMs,
      warmup: o.warmup,
      check: o.check,
      algo,
      rows,
      mpi,
    };
    writeFileSync(o.json, `${JSON.stringify(doc, null, 2)}\n`);
  }
  if (o.plot) writeFileSync(o.plot, plotSvg(`${o.collective} on ${o.devices} device(s), ${o.dtypes.join('/')}${spec.reducing ? ` ${o.ops.join('/')}` : ''}`, rows));
  return { rows, wrong: wrongCount(rows) };
}
