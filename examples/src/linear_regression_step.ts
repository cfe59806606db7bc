// SPMD step of the distributed least-squares example: runs in every device
// worker. Each rank reduces its own rows to the small normal equations, one
// all-reduce adds them up, and every rank solves the same system.
import { performance } from 'node:perf_hooks';
import type { DeviceContext } from '@collective/runtime';
import { checkProblem, columnsOf, type RegressionProblem, rowsOf, shardOf } from './linear_regression_data.js';
import { accumulateNormalEquations, packedLength, solveNormalEquations } from './normal_equations.js';

export interface RankSolution {
  rank: number;
  /** the rows this rank read: [start, end) */
  rows: [number, number];
  /** the solution (features, then bias) */
  w: Float64Array;
  /** time of the all-reduce, ms, timed after a barrier so it leaves out waiting for slower peers */
  allReduceMs: number;
}

export default function linearRegressionStep(ctx: DeviceContext): RankSolution {
  const problem = checkProblem(ctx.args as RegressionProblem);
  const cols = columnsOf(problem);
  const { start, end } = shardOf(problem.rows, ctx.rank, ctx.size);
  const { x, y } = rowsOf(problem, start, end);
  // XᵀX and Xᵀy share one buffer so that one call reduces both.
  const normal = ctx.alloc('float64', packedLength(cols));
  accumulateNormalEquations(x, y, cols, normal);
  ctx.comm.barrier();
  const t0 = performance.now();
  ctx.comm.allReduce(normal, normal, { op: 'sum' });
  const allReduceMs = performance.now() - t0;
  return { rank: ctx.rank, rows: [start, end], w: solveNormalEquations(normal, cols), allReduceMs };
}
