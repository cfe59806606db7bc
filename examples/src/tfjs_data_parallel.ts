// Data-parallel training of a small TensorFlow.js MLP on a World of device workers:
//   node examples/dist/tfjs_data_parallel.js [--devices 4] [--steps 100] [--batch 16]
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { World } from '@collective/runtime';
import { checkConfig, DEFAULT_CONFIG, type DataParallelConfig } from './data_parallel_config.js';
import type { RankTraining } from './tfjs_data_parallel_step.js';
import { isMain, runMain } from './run_as_main.js';

export const TFJS_DATA_PARALLEL_STEP = new URL('./tfjs_data_parallel_step.js', import.meta.url);

/** Trains on every device of `world`; one record per rank, in rank order. */
export function trainDataParallel(world: World, config: DataParallelConfig = DEFAULT_CONFIG): Promise<RankTraining[]> {
  return world.launch<RankTraining>(TFJS_DATA_PARALLEL_STEP, checkConfig(config));
}

const median = (a: number[]): number => {
  const s = [...a].sort((x, y) => x - y);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { devices: { type: 'string', default: '4' }, steps: { type: 'string', default: '100' }, batch: { type: 'string', default: String(DEFAULT_CONFIG.perRankBatch) } },
  });
  const devices = Number(values.devices);
  const config = checkConfig({ ...DEFAULT_CONFIG, steps: Number(values.steps), perRankBatch: Number(values.batch) });
  const t0 = performance.now();
  const world = await World.start({ devices, poolBytes: 64 << 20 });
  const started = performance.now();
  let ranks: RankTraining[];
  try {
    ranks = await trainDataParallel(world, config);
  } finally {
    await world.close();
  }
  const trained = performance.now();
  const r0 = ranks[0]!;
  console.log(`data-parallel SGD: MLP 2→${config.hidden} tanh→1 (${r0.params.length} parameters), ${devices} devices × ${config.perRankBatch} rows = global batch ${devices * config.perRankBatch}, lr ${config.learningRate}`);
  console.log('  step    loss      step ms (slowest rank)   exchange ms (rank 0)');
  for (let s = 0; s < config.steps; s++) {
    const slowest = Math.max(...ranks.map((r) => r.stepMs[s]!));
    console.log(`  ${String(s).padStart(4)}  ${r0.losses[s]!.toFixed(5)}  ${slowest.toFixed(3).padStart(10)}               ${r0.exchangeMs[s]!.toFixed(3).padStart(8)}`);
  }
  const diverged = ranks.flatMap((r) => r.hashes.map((h, s) => (h === r0.hashes[s] ? -1 : s))).filter((s) => s >= 0);
  const skip = Math.min(5, config.steps - 1); // the first steps include JIT warm-up
  console.log(`median step ${median(r0.stepMs.slice(skip)).toFixed(3)} ms, of which exchange ${median(r0.exchangeMs.slice(skip)).toFixed(3)} ms (rank 0, steps ${skip}+)`);
  console.log(`parameters bitwise identical on all ranks after every step: ${diverged.length === 0 ? 'yes' : `NO (first at step ${Math.min(...diverged)})`}`);
  console.log(`world start ${(started - t0).toFixed(0)} ms, launch + training ${(trained - started).toFixed(0)} ms`);
  if (diverged.length > 0) process.exitCode = 1;
}

if (isMain(import.meta.url)) runMain(main);
