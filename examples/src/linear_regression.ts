// Distributed least squares on a World of device workers:
//   node examples/dist/linear_regression.js [--devices 4] [--rows 4096] [--features 8]
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { World } from '@collective/runtime';
import { DEFAULT_PROBLEM, type RegressionProblem, checkProblem, trueWeights } from './linear_regression_data.js';
import type { RankSolution } from './linear_regression_step.js';
import { isMain, runMain } from './run_as_main.js';

export const LINEAR_REGRESSION_STEP = new URL('./linear_regression_step.js', import.meta.url);

/** Solves `problem` on every device of `world`; one solution per rank, in rank order. */
export function solveDistributed(world: World, problem: RegressionProblem = DEFAULT_PROBLEM): Promise<RankSolution[]> {
  return world.launch<RankSolution>(LINEAR_REGRESSION_STEP, checkProblem(problem));
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { devices: { type: 'string', default: '4' }, rows: { type: 'string' }, features: { type: 'string' } },
  });
  const devices = Number(values.devices);
  const problem = checkProblem({
    ...DEFAULT_PROBLEM,
    ...(values.rows !== undefined && { rows: Number(values.rows) }),
    ...(values.features !== undefined && { features: Number(values.features) }),
  });
  const t0 = performance.now();
  const world = await World.start({ devices, poolBytes: 64 << 20 });
  const started = performance.now();
  let solutions: RankSolution[];
  try {
    solutions = await solveDistributed(world, problem);
  } finally {
    await world.close();
  }
  const solved = performance.now();
  const wStar = trueWeights(problem);
  const w = solutions[0]!.w;
  const same = solutions.every((s) => Buffer.from(s.w.buffer, s.w.byteOffset, s.w.byteLength).equals(Buffer.from(w.buffer, w.byteOffset, w.byteLength)));
  console.log(`least squares: ${problem.rows} rows × ${problem.features} features + bias, noise σ=${problem.noise}, seed ${problem.seed}, ${devices} devices`);
  for (const s of solutions) console.log(`  rank ${s.rank}: rows [${s.rows[0]}, ${s.rows[1]}), all-reduce of ${(w.length + 1) * w.length * 8} bytes in ${s.allReduceMs.toFixed(3)} ms`);
  console.log('  coef        w            w*           |w − w*|');
  let worst = 0;
  for (let i = 0; i < w.length; i++) {
    const err = Math.abs(w[i]! - wStar[i]!);
    worst = Math.max(worst, err);
    const name = i < problem.features ? `x${i}` : 'bias';
    console.log(`  ${name.padEnd(6)} ${w[i]!.toFixed(8).padStart(12)} ${wStar[i]!.toFixed(8).padStart(12)} ${err.toExponential(2).padStart(10)}`);
  }
  console.log(`max |w − w*| = ${worst.toExponential(3)}; solutions bitwise identical on all ranks: ${same ? 'yes' : 'NO'}`);
  console.log(`world start ${(started - t0).toFixed(0)} ms, launch + solve ${(solved - started).toFixed(1)} ms`);
  if (!same) process.exitCode = 1;
}

const USAGE = `usage: node examples/dist/linear_regression.js [--devices 4] [--rows 4096] [--features 8]
  distributed least squares on a World of device workers: every device solves its rows, an all-reduce sums the normal equations`;

if (isMain(import.meta.url)) runMain(main, USAGE);
