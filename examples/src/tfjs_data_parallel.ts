// Data-parallel training of a small TensorFlow.js MLP on a World of device workers:
//   node examples/dist/tfjs_data_parallel.js [--devices 4] [--steps 100] [--batch 16]
//     [--mode blocking|ddp] [--bucket-bytes 26214400] [--hook allreduce|bf16] [--hidden 16] [--depth 1]
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { DEFAULT_BUCKET_BYTES, World } from '@collective/runtime';
import { TransportError } from '@collective/transport';
import { bucketBytesOf, checkConfig, DEFAULT_CONFIG, type DataParallelConfig, EXCHANGE_MODES, type ExchangeMode, HOOK_NAMES, type HookName } from './data_parallel_config.js';
import type { RankTraining } from './tfjs_data_parallel_step.js';
import { isMain, runMain } from './run_as_main.js';

export const TFJS_DATA_PARALLEL_STEP = new URL('./tfjs_data_parallel_step.js', import.meta.url);

/** Trains on every device of `world`; one record per rank, in rank order. */
export function trainDataParallel(world: World, config: DataParallelConfig = DEFAULT_CONFIG): Promise<RankTraining[]> {
  return world.launch<RankTraining>(TFJS_DATA_PARALLEL_STEP, checkConfig(config));
}

/** Parameters of the MLP `config` describes. */
export function parameterCount(config: DataParallelConfig): number {
  const h = config.hidden;
  const depth = config.depth ?? 1;
  return 2 * h + h + (depth - 1) * (h * h + h) + h + 1;
}

/**
 * A pool for `devices` ranks training `config`: per rank the gradient
 * buckets, the bf16 copies, the broadcast's flat copy and the blocking
 * mode's bucket (at most 4 model-sized arrays, page-rounded per parameter),
 * plus 32 MiB for the communicators' own buffers; at least 64 MiB.
 */
export function poolBytesFor(config: DataParallelConfig, devices: number): number {
  const perRank = 4 * (parameterCount(config) * 4 + 2 * ((config.depth ?? 1) + 1) * 65536);
  const page = 65536;
  return Math.max(64 << 20, Math.ceil((devices * perRank + (32 << 20)) / page) * page);
}

export const median = (a: number[]): number => {
  const s = [...a].sort((x, y) => x - y);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/** The worlds this example needs: the ddp mode runs on the communication streams. */
export function worldOptions(config: DataParallelConfig, devices: number): { devices: number; poolBytes: number; streams: boolean } {
  return { devices, poolBytes: poolBytesFor(config, devices), streams: config.mode === 'ddp' };
}

export function modeOf(value: string | undefined): ExchangeMode {
  if (!(EXCHANGE_MODES as readonly (string | undefined)[]).includes(value)) throw new TransportError('EINVAL', `--mode must be one of ${EXCHANGE_MODES.join(', ')} (got ${String(value)})`);
  return value as ExchangeMode;
}

export function hookOf(value: string | undefined): HookName {
  if (!(HOOK_NAMES as readonly (string | undefined)[]).includes(value)) throw new TransportError('EINVAL', `--hook must be one of ${HOOK_NAMES.join(', ')} (got ${String(value)})`);
  return value as HookName;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      devices: { type: 'string', default: '4' },
      steps: { type: 'string', default: '100' },
      batch: { type: 'string', default: String(DEFAULT_CONFIG.perRankBatch) },
      mode: { type: 'string', default: 'blocking' },
      'bucket-bytes': { type: 'string' },
      hook: { type: 'string' },
      hidden: { type: 'string', default: String(DEFAULT_CONFIG.hidden) },
      depth: { type: 'string', default: '1' },
    },
  });
  const devices = Number(values.devices);
  const mode = modeOf(values.mode);
  if (mode !== 'ddp' && (values['bucket-bytes'] !== undefined || values.hook !== undefined)) throw new TransportError('EINVAL', '--bucket-bytes and --hook apply to --mode ddp only');
  const config = checkConfig({
    ...DEFAULT_CONFIG,
    steps: Number(values.steps),
    perRankBatch: Number(values.batch),
    hidden: Number(values.hidden),
    depth: Number(values.depth),
    mode,
    ...(mode === 'ddp' ? { bucketBytes: Number(values['bucket-bytes'] ?? DEFAULT_BUCKET_BYTES), commHook: hookOf(values.hook ?? 'allreduce') } : {}),
  });
  const t0 = performance.now();
  const world = await World.start(worldOptions(config, devices));
  const started = performance.now();
  let ranks: RankTraining[];
  try {
    ranks = await trainDataParallel(world, config);
  } finally {
    await world.close();
  }
  const trained = performance.now();
  const r0 = ranks[0]!;
  const widths = Array.from({ length: config.depth ?? 1 }, () => `${config.hidden} tanh`).join('→');
  console.log(`data-parallel SGD: MLP 2→${widths}→1 (${r0.params.length} parameters), ${devices} devices × ${config.perRankBatch} rows = global batch ${devices * config.perRankBatch}, lr ${config.learningRate}`);
  console.log(mode === 'ddp' ? `exchange: ddp on the communication stream, ${r0.buckets.length} bucket(s) of at most ${bucketBytesOf(config)} bytes, hook ${config.commHook}` : 'exchange: blocking, one all-reduce of all gradients after backward');
  console.log('  step    loss      step ms (slowest rank)   exchange ms (rank 0)');
  for (let s = 0; s < config.steps; s++) {
    const slowest = Math.max(...ranks.map((r) => r.stepMs[s]!));
    console.log(`  ${String(s).padStart(4)}  ${r0.losses[s]!.toFixed(5)}  ${slowest.toFixed(3).padStart(10)}               ${r0.exchangeMs[s]!.toFixed(3).padStart(8)}`);
  }
  const diverged = ranks.flatMap((r) => r.hashes.map((h, s) => (h === r0.hashes[s] ? -1 : s))).filter((s) => s >= 0);
  const skip = Math.min(5, config.steps - 1); // the first steps include JIT warm-up
  const what = mode === 'ddp' ? 'exchange not hidden by computation' : 'exchange';
  console.log(`median step ${median(r0.stepMs.slice(skip)).toFixed(3)} ms, of which forward+backward ${median(r0.backwardMs.slice(skip)).toFixed(3)} ms, ${what} ${median(r0.exchangeMs.slice(skip)).toFixed(3)} ms (rank 0, steps ${skip}+)`);
  console.log(`parameters bitwise identical on all ranks after every step: ${diverged.length === 0 ? 'yes' : `NO (first at step ${Math.min(...diverged)})`}`);
  console.log(`world start ${(started - t0).toFixed(0)} ms, launch + training ${(trained - started).toFixed(0)} ms`);
  if (diverged.length > 0) process.exitCode = 1;
}

const USAGE = `usage: node examples/dist/tfjs_data_parallel.js [--devices 4] [--steps 100] [--batch 16] [--mode blocking|ddp]
    [--bucket-bytes 26214400] [--hook allreduce|bf16] [--hidden 16] [--depth 1]
  data-parallel training of a small TensorFlow.js MLP on a World of device workers`;

if (isMain(import.meta.url)) runMain(main, USAGE);
