// Blocking vs overlapped (DataParallel on the communication streams)
// gradient exchange for the data-parallel tfjs example, on one World:
//   node examples/dist/tfjs_overlap_bench.js [--devices 4] [--hidden 512] [--depth 3] [--batch 16]
//     [--steps 30] [--warmup 5] [--rounds 2] [--bucket-bytes 1048576] [--lr 0.05] [--join]
// With --join it runs in every process of a job a launcher started
// (collective-run, torchrun, mpirun; --devices per process), so that the
// gradients cross processes; the process of job rank 0 prints.
// Each round trains once per variant (blocking; ddp with the given buckets;
// ddp with one bucket, which can overlap nothing with backward), each for
// warmup + steps steps; the warm-up steps of every run are dropped. The
// order of the variants rotates from round to round, and each round's ddp
// median is divided by the same round's blocking median, so that load from
// other processes, which drifts over minutes, cancels as far as it can.
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { World } from '@collective/runtime';
import { TransportError } from '@collective/transport';
import { checkConfig, DEFAULT_CONFIG, type DataParallelConfig } from './data_parallel_config.js';
import { median, parameterCount, trainDataParallel, worldOptions } from './tfjs_data_parallel.js';
import type { RankTraining } from './tfjs_data_parallel_step.js';
import { isMain, runMain } from './run_as_main.js';

interface Variant {
  name: string;
  config: DataParallelConfig;
}

/** Per variant, over all measured steps of all rounds. */
interface Samples {
  /** per step: the slowest rank's step time */
  step: number[];
  /** per step and rank: forward + backward, and exchange (blocking) or time blocked on buckets (ddp) */
  backward: number[];
  exchange: number[];
  /** the median step of each round: how much the rounds disagree (noise) */
  rounds: number[];
  /** CPU time of the whole process (every thread) per step, each run's total over its steps */
  cpu: number[];
  buckets: number;
  lastLoss: number;
}

function positive(name: string, value: string | undefined): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n <= 0) throw new TransportError('EINVAL', `--${name} must be a positive integer (got ${String(value)})`);
  return n;
}

function collect(into: Samples, ranks: RankTraining[], warmup: number): void {
  const steps = ranks[0]!.stepMs.length;
  const round: number[] = [];
  for (let s = warmup; s < steps; s++) {
    round.push(Math.max(...ranks.map((r) => r.stepMs[s]!)));
    into.step.push(round.at(-1)!);
    for (const r of ranks) {
      into.backward.push(r.backwardMs[s]!);
      into.exchange.push(r.exchangeMs[s]!);
    }
  }
  into.rounds.push(median(round));
  into.buckets = ranks[0]!.buckets.length;
  into.lastLoss = ranks[0]!.losses.at(-1)!;
}

function quantile(a: number[], q: number): number {
  const s = [...a].sort((x, y) => x - y);
  return s.length === 0 ? NaN : s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      devices: { type: 'string', default: '4' },
      hidden: { type: 'string', default: '512' },
      depth: { type: 'string', default: '3' },
      batch: { type: 'string', default: String(DEFAULT_CONFIG.perRankBatch) },
      steps: { type: 'string', default: '30' },
      warmup: { type: 'string', default: '5' },
      rounds: { type: 'string', default: '2' },
      'bucket-bytes': { type: 'string', default: String(1 << 20) },
      lr: { type: 'string', default: '0.05' },
      join: { type: 'boolean', default: false },
    },
  });
  const devices = positive('devices', values.devices);
  const warmup = positive('warmup', values.warmup);
  const rounds = positive('rounds', values.rounds);
  const base = checkConfig({
    ...DEFAULT_CONFIG,
    steps: warmup + positive('steps', values.steps),
    perRankBatch: positive('batch', values.batch),
    hidden: positive('hidden', values.hidden),
    depth: positive('depth', values.depth),
    learningRate: Number(values.lr),
  });
  const bucketBytes = positive('bucket-bytes', values['bucket-bytes']);
  const oneBucket = parameterCount(base) * 4;
  const variants: Variant[] = [
    { name: 'blocking (one all-reduce after backward)', config: base },
    { name: `ddp, ${bucketBytes}-byte buckets`, config: checkConfig({ ...base, mode: 'ddp', bucketBytes }) },
    { name: 'ddp, one bucket (control: nothing to overlap with backward)', config: checkConfig({ ...base, mode: 'ddp', bucketBytes: oneBucket }) },
  ];
  const samples = variants.map((): Samples => ({ step: [], backward: [], exchange: [], rounds: [], cpu: [], buckets: 0, lastLoss: NaN }));

  const loadBefore = loadavg();
  const load: number[] = [];
  const sampler = setInterval(() => load.push(loadavg()[0]!), 1000);
  const started = performance.now();
  const options = worldOptions(variants[1]!.config, devices);
  const world = values.join ? await World.join(options) : await World.start(options);
  const quiet = values.join && world.job!.rank !== 0;
  try {
    // Every variant once, briefly: tfjs loads and the JIT warms up in every worker.
    for (const v of variants) await trainDataParallel(world, { ...v.config, steps: 2 });
    for (let r = 0; r < rounds; r++) {
      for (let j = 0; j < variants.length; j++) {
        const i = (r + j) % variants.length;
        const cpu0 = process.cpuUsage();
        const ranks = await trainDataParallel(world, variants[i]!.config);
        const cpu = process.cpuUsage(cpu0);
        collect(samples[i]!, ranks, warmup);
        samples[i]!.cpu.push((cpu.user + cpu.system) / 1000 / base.steps);
      }
    }
  } finally {
    clearInterval(sampler);
    await world.close();
  }
  const seconds = (performance.now() - started) / 1000;
  if (quiet) return;

  const where = values.join ? `${world.size / world.localSize} processes × ${devices} devices (step times: the slowest of this process's ranks; every step ends in an exchange across processes)` : `${devices} devices`;
  console.log(`MLP 2→${base.hidden}×${base.depth} tanh→1 (${parameterCount(base)} parameters, ${((parameterCount(base) * 4) / 2 ** 20).toFixed(2)} MiB of gradients), ${where} × ${base.perRankBatch} rows, SGD lr ${base.learningRate}`);
  console.log(`${rounds} round(s) × ${base.steps - warmup} measured steps per variant (first ${warmup} of each run dropped), ${seconds.toFixed(0)} s in all`);
  console.log('variant                                                      buckets  median step  10th pct  fwd+bwd   exchange*  CPU/step**  final loss  median step per round');
  variants.forEach((v, i) => {
    const s = samples[i]!;
    const perRound = s.rounds.map((m) => m.toFixed(0)).join(', ');
    console.log(
      `${v.name.padEnd(60)} ${String(s.buckets).padStart(7)}  ${median(s.step).toFixed(1).padStart(8)} ms ${quantile(s.step, 0.1).toFixed(1).padStart(6)} ms ${median(s.backward).toFixed(1).padStart(7)} ms ${median(s.exchange).toFixed(1).padStart(7)} ms ${median(s.cpu).toFixed(0).padStart(7)} ms  ${s.lastLoss.toFixed(4).padStart(10)}  ${perRound}`,
    );
  });
  console.log('* blocking: the all-reduce with packing; ddp: time blocked waiting for buckets after backward (medians over steps and ranks)');
  console.log('** CPU time of the whole process (all threads) over a run, divided by its steps (warm-up, model build and the per-step checks included); median over rounds');
  for (const i of [1, 2]) {
    const ratios = samples[i]!.rounds.map((m, r) => m / samples[0]!.rounds[r]!);
    console.log(`${variants[i]!.name} / blocking, median step: ${(median(samples[i]!.step) / median(samples[0]!.step)).toFixed(3)}; per round ${ratios.map((x) => x.toFixed(2)).join(', ')}, median of those ${median(ratios).toFixed(3)}`);
  }
  const mean = load.length ? load.reduce((x, y) => x + y, 0) / load.length : NaN;
  console.log(`load average (1 min): ${loadBefore[0]!.toFixed(2)} before; during the run min ${Math.min(...load).toFixed(2)}, mean ${mean.toFixed(2)}, max ${Math.max(...load).toFixed(2)}`);
}

const USAGE = `usage: node examples/dist/tfjs_overlap_bench.js [--devices 4] [--hidden 512] [--depth 3] [--batch 16]
    [--steps 30] [--warmup 5] [--rounds 2] [--bucket-bytes 1048576] [--lr 0.05] [--join]
  blocking against overlapped (DataParallel on the communication streams) gradient exchange of the tfjs example;
  --join: every process of a job started by collective-run, torchrun or mpirun runs it (--devices per process)`;

if (isMain(import.meta.url)) runMain(main, USAGE);
