// SPMD step of the data-parallel TensorFlow.js example: runs in every device
// worker. Same model everywhere (and rank 0's parameters broadcast, as DDP
// does), a different slice of each global batch per rank, gradients averaged
// by one all-reduce per step, then the same SGD update everywhere.
import { performance } from 'node:perf_hooks';
import * as tf from '@tensorflow/tfjs-core';
import type { DeviceContext } from '@collective/runtime';
import { checkConfig, type DataParallelConfig, rowsOfRank } from './data_parallel_config.js';
import { exchangeGradients } from './exchange_gradients.js';
import { buildMlp, meanLoss, trainableVariables, useCpuBackend } from './mlp_model.js';
import { flattenInto, hashOf, layoutOf, snapshot, unflatten } from './param_bucket.js';
import { spiralRows } from './spiral_data.js';

export interface RankTraining {
  rank: number;
  /** names of the parameters in the order of `params` */
  names: string[];
  /** hash of the parameters this rank initialised, before the broadcast */
  localInitHash: string;
  /** hash of the parameters after the initial broadcast from rank 0 */
  initialHash: string;
  /** global mean loss of each step's batch, before that step's update */
  losses: number[];
  /** hash of the parameters after each step */
  hashes: string[];
  /** time of each step (batch, forward, backward, exchange, update), ms */
  stepMs: number[];
  /** time of each step's exchangeGradients, ms */
  exchangeMs: number[];
  /** the final parameters, flattened in `names` order */
  params: Float32Array;
}

export default async function tfjsDataParallelStep(ctx: DeviceContext): Promise<RankTraining> {
  const config = checkConfig(ctx.args as DataParallelConfig);
  await useCpuBackend();
  const model = buildMlp(config.hidden, config.initSeed + (config.perRankInit ? ctx.rank : 0));
  const optimizer = tf.train.sgd(config.learningRate);
  try {
    const variables = trainableVariables(model);
    const layout = layoutOf(variables);
    const byName = Object.fromEntries(variables.map((v) => [v.name, v]));

    // DDP starts from rank 0's parameters, whatever each rank initialised.
    const localInitHash = hashOf(snapshot(variables));
    const params = ctx.alloc('float32', layout.size);
    flattenInto(layout, byName, params);
    ctx.comm.broadcast(params, params, { root: 0 });
    const initial = unflatten(layout, params);
    for (const v of variables) v.assign(initial[v.name]!);
    tf.dispose(initial);
    ctx.free(params);

    // Allocated once: the communicator registers a buffer on first use and
    // reuses the registration while the same view comes back every step.
    const bucket = ctx.alloc('float32', layout.size);
    const loss = ctx.alloc('float32', 1);
    const out: RankTraining = { rank: ctx.rank, names: layout.slots.map((s) => s.name), localInitHash, initialHash: hashOf(snapshot(variables)), losses: [], hashes: [], stepMs: [], exchangeMs: [], params: new Float32Array(0) };
    for (let step = 0; step < config.steps; step++) {
      const t0 = performance.now();
      const { start, end } = rowsOfRank(config, step, ctx.rank, ctx.size);
      const rows = spiralRows(config.data, start, end);
      const x = tf.tensor2d(rows.x, [end - start, 2]);
      const labels = tf.tensor2d(rows.labels, [end - start, 1]);
      const { value, grads } = optimizer.computeGradients(() => meanLoss(model, x, labels), variables);
      const t1 = performance.now();
      const averaged = exchangeGradients(ctx.comm, grads, layout, bucket);
      const t2 = performance.now();
      optimizer.applyGradients(averaged);
      loss[0] = value.dataSync()[0]!;
      tf.dispose([x, labels, value, grads, averaged]);
      out.stepMs.push(performance.now() - t0);
      out.exchangeMs.push(t2 - t1);
      // Equal shards: the mean of the ranks' means is the global batch's mean.
      ctx.comm.allReduce(loss, loss, { op: 'avg' });
      out.losses.push(loss[0]!);
      out.hashes.push(hashOf(snapshot(variables)));
    }
    out.params = snapshot(variables);
    return out;
  } finally {
    optimizer.dispose();
    model.dispose();
  }
}
