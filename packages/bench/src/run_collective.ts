import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import type { Writable } from 'node:stream';
import { algorithmNames, type Dtype, type JsonValue, PROTOCOLS, type ReduceOp } from '@collective/runtime';
import { TransportError } from '@collective/transport';
import { type CollectiveName, SPECS } from './collectives.js';
import { launchedJob } from './bench_job.js';
import { type BenchWorld, openBenchWorld } from './bench_world.js';
import type { WorkerArgs, WorkerResult } from './collective_worker.js';
import type { Sample } from './sample.js';
import { footer, formatRow, header, type Row, wrongCount } from './format_table.js';
import { checkMpiPeer, mpiOpFor } from './mpi_peer.js';
import { checkOutputPath } from './output_path.js';
import { plotSvg } from './plot_svg.js';
import { checkFits, collectivePoolBytes, collectiveSizeLimit } from './pool_limits.js';
import { Progress } from './progress.js';
import { runMetadata } from './run_metadata.js';
import { describeSkipped, type DtypeSweep, planSweep } from './sweep_plan.js';
import { describeTiming, NOISY_SPREAD, SETTLE_MS } from './timing_plan.js';

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
  /**
   * join the job a launcher started (World.join): true always, false never,
   * undefined when the launcher environment names more than one process.
   * `devices` are then this process's; the job has every process's.
   */
  join?: boolean;
}

export interface CollectiveBenchResult {
  rows: Row[];
  /** wrong values over every checked column; NaN when nothing was checked */
  wrong: number;
}

function toRow(s: Sample, dtype: Dtype, redop: string, root: number, factor: number, check: boolean, tuned: boolean): Row {
  const algbw = (us: number) => (Number.isFinite(us) && us > 0 ? s.bytes / us / 1000 : NaN);
  return {
    ...s,
    // Unchecked results have no count of wrong values, not a count of zero.
    outWrong: check ? s.outWrong : NaN,
    inWrong: check ? s.inWrong : NaN,
    dtype,
    redop,
    root,
    tuned,
    noisy: s.spread >= NOISY_SPREAD,
    outAlgbw: algbw(s.outUs),
    outBusbw: algbw(s.outUs) * factor,
    inAlgbw: algbw(s.inUs),
    inBusbw: algbw(s.inUs) * factor,
  };
}

/** Everything that can be refused is refused here, before a line is printed or a thread started. */
function validate(o: CollectiveBenchOptions, joining: boolean, printing: boolean): void {
  if (!Number.isSafeInteger(o.devices) || o.devices < 1) throw new TransportError('EINVAL', `devices must be a positive integer (got ${o.devices})`);
  if (!Number.isSafeInteger(o.root) || o.root < 0) throw new TransportError('EINVAL', `-r must be a non-negative integer (got ${o.root})`);
  // A job's device count is known once its processes meet: see checkRoot.
  if (!joining) checkRoot(o.root, o.devices);
  const kind = SPECS[o.collective].kind;
  if (o.algo !== undefined) {
    const names: string[] = kind === 'sendRecv' ? [] : algorithmNames(kind);
    if (!names.includes(o.algo)) throw new TransportError('EINVAL', names.length === 0 ? `--algo: ${o.collective} has no algorithms to choose from; drop --algo` : `--algo must be one of ${names.join(', ')} for ${o.collective} (got ${o.algo})`);
  }
  if (o.proto !== undefined && !(PROTOCOLS as readonly string[]).includes(o.proto)) throw new TransportError('EINVAL', `--proto must be one of ${PROTOCOLS.join(', ')} (got ${o.proto})`);
  if (o.sizes.length === 0) throw new TransportError('EINVAL', 'the size sweep is empty; check -b, -e, -f and -i');
  // A job's device count is known once its processes meet: see openBenchWorld's checkTotal.
  if (!joining) planSweep(o.collective, o.sizes, o.dtypes, o.devices);
  checkFits('-e (the largest size)', Math.max(...o.sizes), collectiveSizeLimit(o.devices));
  // Only the process that prints writes files; the others' folders do not matter.
  if (printing && o.json) checkOutputPath('--json', o.json);
  if (printing && o.plot) checkOutputPath('--plot', o.plot);
  if (o.mpi !== undefined) {
    mpiOpFor(o.collective);
    if (printing) checkMpiPeer(o.mpi);
  }
}

function checkRoot(root: number, total: number, processes = 1): void {
  if (root >= total) {
    const of = processes > 1 ? `the job's ${total} devices (${processes} processes)` : `${total} devices`;
    throw new TransportError('EINVAL', `-r ${root} is not a rank of ${of}; use 0..${total - 1}`);
  }
}

/** What every process of a job must run alike, by the flags that set it. */
function agreement(o: CollectiveBenchOptions): { [key: string]: JsonValue } {
  return {
    collective: o.collective,
    'sizes (-b, -e, -f, -i)': o.sizes,
    'datatypes (-d)': o.dtypes,
    'ops (-o)': o.ops,
    'root (-r)': o.root,
    'iterations (-n)': o.iters,
    'warmup (-w)': o.warmup,
    'check (-c)': o.check,
    '--min-time-ms': o.minTimeMs,
    '--algo': o.algo ?? null,
    '--proto': o.proto ?? null,
    '--connector': o.connector ?? null,
    '--mpi': o.mpi !== undefined,
  };
}

const plural = (n: number, one: string) => `${n} ${one}${n === 1 ? '' : one.endsWith('s') ? 'es' : 's'}`;

/** "2 processes × 2 devices per process = 4 devices", or the counts when processes differ. */
function describeJob(b: BenchWorld): string {
  const per = b.devicesPerProcess;
  const total = per.reduce((x, y) => x + y, 0);
  if (per.length === 1 && b.launcher === undefined) return `${plural(total, 'device')}`;
  const shape = per.every((d) => d === per[0]) ? `${plural(per.length, 'process')} × ${plural(per[0]!, 'device')} per process` : `${plural(per.length, 'process')} (${per.join('+')} devices)`;
  return `${shape} = ${plural(total, 'device')} (${b.launcher ?? 'joined'}, ${plural(b.hosts, 'host')})`;
}

/** How rank 0 reaches its peers: the same process's over shm, other processes' over the tcp provider. */
function describeConnectors(connectors: readonly string[], b: BenchWorld): string {
  const local = b.devicesPerProcess[0]!;
  const kinds = (from: number, to: number) => [...new Set(connectors.slice(from, to).filter((c) => c !== 'self'))].join('+') || '-';
  const name = (k: string) => (k === 'net' ? 'net (tcp)' : k);
  if (b.devicesPerProcess.length === 1) return `connectors ${kinds(0, connectors.length)}`;
  const inside = local > 1 ? `${kinds(0, local)} inside a process, ` : '';
  return `connectors ${inside}${name(kinds(local, connectors.length))} between processes`;
}

/**
 * nccl-tests for this runtime: one collective over a size sweep, per dtype
 * and op. As one process of a job started by a launcher (see launchedJob),
 * every process runs the same sweep over one communicator of all the job's
 * devices, and only process 0 prints the table and writes the files.
 */
export async function runCollectiveBench(o: CollectiveBenchOptions, out: Writable): Promise<CollectiveBenchResult> {
  const job = launchedJob(o.join);
  const printing = (job?.rank ?? 0) === 0;
  validate(o, job !== undefined, printing);
  const started = new Date();
  const spec = SPECS[o.collective];
  const maxBytes = Math.max(...o.sizes);
  const algo = o.algo === undefined && o.proto === undefined ? 'tuned' : `${o.algo ?? 'tuned'}${o.proto ? `/${o.proto}` : ''}`;
  const bench = await openBenchWorld({
    devices: o.devices,
    poolBytes: collectivePoolBytes(o.devices, maxBytes, job !== undefined),
    ...(o.connector !== undefined && { connector: o.connector }),
    // The peer sweeps our sizes, so every float32 row has its figure.
    ...(o.mpi !== undefined && { mpi: { path: o.mpi, op: mpiOpFor(o.collective), sizes: o.sizes } }),
    ...(job !== undefined && { job, agree: agreement(o) }),
    checkTotal: (total) => {
      checkRoot(o.root, total, job?.worldSize ?? 1);
      planSweep(o.collective, o.sizes, o.dtypes, total);
    },
  });
  const { world, mpi } = bench;
  // Every process runs the sweep; only process 0 speaks.
  const say = (text: string) => {
    if (bench.process === 0) out.write(text);
  };
  const n = world.size;
  const plan = new Map<Dtype, DtypeSweep>(planSweep(o.collective, o.sizes, o.dtypes, n).map((p) => [p.dtype, p]));
  const tuned = o.algo === undefined && o.proto === undefined;
  const loadAtStart = loadavg();
  const rows: Row[] = [];
  const ops = spec.reducing ? o.ops : (['sum'] as ReduceOp[]);
  const progress = new Progress(o.progress && bench.process === 0, ops.length * [...plan.values()].reduce((k, p) => k + p.sizes.length, 0));
  const factor = spec.busFactor(n);
  let ok = false;
  try {
    for (const dtype of o.dtypes) {
      for (const op of ops) {
        for (const size of plan.get(dtype)!.sizes) {
          const args: WorkerArgs = { collective: o.collective, sizes: [size], dtype, op, root: o.root, iters: o.iters, warmup: o.warmup, check: o.check, minTimeMs: o.minTimeMs, ...(o.algo !== undefined && { algo: o.algo }), ...(o.proto !== undefined && { proto: o.proto }), ...(o.stat !== undefined && { stat: o.stat }) };
          if (rows.length === 0) args.settleMs = SETTLE_MS;
          progress.tick(`${o.collective} ${dtype} ${op} ${size} B`);
          const results = await world.launch<WorkerResult>(new URL('./collective_worker.js', import.meta.url), args);
          if (rows.length === 0) {
            // The header names the connectors the communicator chose, known after the first call.
            const connector = bench.devicesPerProcess.length > 1 || bench.launcher !== undefined ? describeConnectors(results[0]!.connectors, bench) : `connector ${o.connector ?? process.env.COLLECTIVE_CONNECTOR ?? 'auto'}`;
            say(`# collective-bench ${o.collective}: ${describeJob(bench)} on ${cpus().length} core(s), check ${o.check ? 1 : 0}, algorithm ${algo}, ${connector}\n`);
            say(`# ${describeTiming(o.iters, o.warmup, o.minTimeMs, o.stat ?? 'median')}\n`);
            say(`# load average ${loadAtStart.map((l) => l.toFixed(2)).join(' ')} (1, 5, 15 min) at the start, on ${cpus().length} core(s)\n`);
            for (const p of plan.values()) {
              const skipped = describeSkipped(o.collective, p, n);
              if (skipped) say(`# ${skipped}\n`);
            }
            say('#\n');
            for (const line of header(mpi !== undefined)) say(`${line}\n`);
          }
          // Every rank holds the job's figures (max time, #wrong summed over all ranks of all processes).
          const row = toRow(results[0]!.samples[0]!, dtype, spec.reducing ? op : 'none', spec.rooted ? o.root : -1, factor, o.check, tuned);
          const m = mpi?.find((x) => x.bytes === row.bytes);
          if (mpi && dtype === 'float32' && op === 'sum') {
            row.mpiUs = m?.us ?? NaN;
            row.mpiBusbw = m?.busbw ?? NaN;
          }
          rows.push(row);
          progress.clear();
          say(`${formatRow(row)}\n`);
        }
      }
    }
    ok = true;
  } finally {
    progress.clear();
    await bench.close(ok);
  }
  for (const line of footer(rows)) say(`${line}\n`);
  if (bench.process === 0 && o.json) {
    const meta = runMetadata(o.command ?? process.argv, started, loadAtStart);
    const doc = {
      collective: o.collective,
      devices: n,
      processes: bench.devicesPerProcess.length,
      devicesPerProcess: bench.devicesPerProcess,
      ...(bench.launcher !== undefined && { launcher: bench.launcher, hosts: bench.hosts }),
      cores: meta.machine.cores,
      ...meta,
      iterations: o.iters === 0 ? 'auto' : o.iters,
      minTimeMs: o.minTimeMs,
      warmup: o.warmup,
      check: o.check,
      algo,
      timing: describeTiming(o.iters, o.warmup, o.minTimeMs, o.stat ?? 'median'),
      skipped: Object.fromEntries([...plan.values()].filter((p) => p.skipped.length > 0).map((p) => [p.dtype, p.skipped])),
      noisySpread: NOISY_SPREAD,
      rows,
      mpi,
    };
    writeFileSync(o.json, `${JSON.stringify(doc, null, 2)}\n`);
  }
  const processes = bench.devicesPerProcess.length > 1 ? ` (${plural(bench.devicesPerProcess.length, 'process')})` : '';
  if (bench.process === 0 && o.plot) writeFileSync(o.plot, plotSvg(`${o.collective} on ${n} device(s)${processes}, ${o.dtypes.join('/')}${spec.reducing ? ` ${o.ops.join('/')}` : ''}`, rows));
  return { rows, wrong: wrongCount(rows) };
}
