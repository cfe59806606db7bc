// SPMD step of the data-parallel TensorFlow.js example: runs in every device
// worker. Same model everywhere (and rank 0's parameters broadcast, as DDP
// does), a different slice of each global batch per rank, gradients
// averaged over the ranks, then the same SGD update everywhere. Mode
// 'blocking' averages all gradients in one all-reduce after backward; mode
// 'ddp' reduces buckets on the communication stream during backward and
// applies each bucket as it arrives.
import * as tf from '@tensorflow/tfjs-core';
import type { Sequential } from '@tensorflow/tfjs-layers';
import { allReduceHook, bf16CompressHook, type DeviceContext } from '@collective/runtime';
import { bucketBytesOf, checkConfig, type DataParallelConfig, type ExchangeMode, rowsOfRank } from './data_parallel_config.js';
import { exchangeGradients } from './exchange_gradients.js';
import { GradReadyHooks, hookedMeanLoss } from './grad_ready_hooks.js';
import { buildMlp, denseLayers, meanLoss, trainableVariables, useCpuBackend } from './mlp_model.js';
import { OverlappedExchange } from './overlapped_exchange.js';
import { flattenInto, hashOf, layoutOf, snapshot, unflatten } from './param_bucket.js';
import { spiralRows } from './spiral_data.js';

export interface RankTraining {
  rank: number;
  mode: ExchangeMode;
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
  /** time of each step's forward and backward (in ddp mode with the copies into the buckets and the bucket launches), ms */
  backwardMs: number[];
  /**
   * blocking: time of each step's exchangeGradients (flatten, all-reduce,
   * unflatten); ddp: time the device thread was blocked waiting for buckets
   * (the communication that computation did not hide), ms
   */
  exchangeMs: number[];
  /** ddp: parameter names per gradient bucket, in launch order (blocking: one bucket of all) */
  buckets: string[][];
  /** ddp: the first step's 'grad <name>' (gradient handed to its bucket) and 'start bucket <k>' events, in order */
  firstStepEvents: string[];
  /** the final parameters, flattened in `names` order */
  params: Float32Array;
}

export default async function tfjsDataParallelStep(ctx: DeviceContext): Promise<RankTraining> {
  const config = checkConfig(ctx.args as DataParallelConfig);
  await useCpuBackend();
  const model = buildMlp(config.hidden, config.initSeed + (config.perRankInit ? ctx.rank : 0), config.depth ?? 1);
  const optimizer = tf.train.sgd(config.learningRate);
  try {
    return config.mode === 'ddp' ? trainDdp(ctx, config, model, optimizer) : trainBlocking(ctx, config, model, optimizer);
  } finally {
    optimizer.dispose();
    model.dispose();
  }
}

function newRecord(ctx: DeviceContext, mode: ExchangeMode, variables: tf.Variable[], localInitHash: string, buckets: string[][]): RankTraining {
  return { rank: ctx.rank, mode, names: variables.map((v) => v.name), localInitHash, initialHash: hashOf(snapshot(variables)), losses: [], hashes: [], stepMs: [], backwardMs: [], exchangeMs: [], buckets, firstStepEvents: [], params: new Float32Array(0) };
}

function batchOf(ctx: DeviceContext, config: DataParallelConfig, step: number): { x: tf.Tensor2D; labels: tf.Tensor2D } {
  const { start, end } = rowsOfRank(config, step, ctx.rank, ctx.size);
  const rows = spiralRows(config.data, start, end);
  return { x: tf.tensor2d(rows.x, [end - start, 2]), labels: tf.tensor2d(rows.labels, [end - start, 1]) };
}

/** Records the step's global mean loss and the parameters' hash (outside the step's time). */
function endStep(ctx: DeviceContext, out: RankTraining, variables: tf.Variable[], loss: Float32Array, value: tf.Scalar): void {
  loss[0] = value.dataSync()[0]!;
  // Equal shards: the mean of the ranks' means is the global batch's mean.
  ctx.comm.allReduce(loss, loss, { op: 'avg' });
  out.losses.push(loss[0]!);
  out.hashes.push(hashOf(snapshot(variables)));
}

function trainBlocking(ctx: DeviceContext, config: DataParallelConfig, model: Sequential, optimizer: tf.SGDOptimizer): RankTraining {
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
  const out = newRecord(ctx, 'blocking', variables, localInitHash, [layout.slots.map((s) => s.name)]);
  for (let step = 0; step < config.steps; step++) {
    const t0 = performance.now();
    const { x, labels } = batchOf(ctx, config, step);
    const { value, grads } = optimizer.computeGradients(() => meanLoss(model, x, labels), variables);
    const t1 = performance.now();
    const averaged = exchangeGradients(ctx.comm, grads, layout, bucket);
    const t2 = performance.now();
    optimizer.applyGradients(averaged);
    tf.dispose([x, labels, grads, averaged]);
    out.stepMs.push(performance.now() - t0);
    out.backwardMs.push(t1 - t0);
    out.exchangeMs.push(t2 - t1);
    endStep(ctx, out, variables, loss, value);
    value.dispose();
  }
  out.params = snapshot(variables);
  return out;
}

function trainDdp(ctx: DeviceContext, config: DataParallelConfig, model: Sequential, optimizer: tf.SGDOptimizer): RankTraining {
  const variables = trainableVariables(model);
  const layers = denseLayers(model);
  // Registration in forward order: DataParallel fills buckets from the
  // last parameter back, the order in which backward finishes them.
  const ordered = layers.flatMap((l) => [l.kernel, l.bias]);

  const localInitHash = hashOf(snapshot(variables));
  const exchange = new OverlappedExchange(ctx, ordered, { bucketBytes: bucketBytesOf(config), commHook: config.commHook === 'bf16' ? bf16CompressHook : allReduceHook });
  const hooks = new GradReadyHooks(ordered, exchange.gradReady);
  const loss = ctx.alloc('float32', 1);
  const out = newRecord(ctx, 'ddp', variables, localInitHash, exchange.bucketNames);
  for (let step = 0; step < config.steps; step++) {
    const t0 = performance.now();
    const { x, labels } = batchOf(ctx, config, step);
    // The hooks hand each gradient to the exchange as backward completes it;
    // the gradients returned at the end are those same tensors, unused here.
    const { value, grads } = optimizer.computeGradients(() => hookedMeanLoss(layers, x, labels, hooks.tap), ordered);
    const t1 = performance.now();
    const waited = exchange.applyAsTheyArrive(optimizer);
    const events = exchange.takeEvents();
    if (step === 0) out.firstStepEvents = events;
    tf.dispose([x, labels, grads]);
    out.stepMs.push(performance.now() - t0);
    out.backwardMs.push(t1 - t0);
    out.exchangeMs.push(waited);
    endStep(ctx, out, variables, loss, value);
    value.dispose();
  }
  out.params = snapshot(variables);
  return out;
}
