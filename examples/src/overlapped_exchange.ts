// The overlapped gradient exchange of the data-parallel example: the
// runtime's DataParallel (torch DDP's reducer) on the communication stream,
// fed from inside tfjs's backward pass, and the optimizer applied bucket by
// bucket as the averages arrive.
import * as tf from '@tensorflow/tfjs-core';
import { type CommHook, type DeviceContext, DataParallel, type GradBucket, type HookResult, type Work } from '@collective/runtime';
import { TransportError } from '@collective/transport';

/** A bucket not averaged within this long means a peer is gone or stuck (nothing here takes a second). */
export const BUCKET_TIMEOUT_MS = 60_000;

export interface OverlappedExchangeOptions {
  bucketBytes: number;
  commHook: CommHook;
}

/**
 * One model's gradient exchange, for a whole training run:
 * - construction broadcasts the root's parameters into the variables;
 * - gradReady(i, g) (call it from inside backward, last layers first) copies
 *   the gradient into its bucket, and a bucket whose gradients are all in
 *   starts its all-reduce on the stream while backward goes on;
 * - applyAsTheyArrive() waits for the buckets in launch order and applies
 *   each as soon as it has arrived, while the later ones still reduce.
 */
export class OverlappedExchange {
  readonly ddp: DataParallel;
  /** what the hook started for each bucket this step (DataParallel keeps its own copy private) */
  private readonly started: (HookResult | undefined)[];
  private readonly plan: number[][];
  /** gradients handed over and buckets started, in order, since takeEvents() */
  private events: string[] = [];

  /** `params` in registration order: forward order, so that buckets fill in backward order. */
  constructor(
    ctx: DeviceContext,
    private readonly params: readonly tf.Variable[],
    options: OverlappedExchangeOptions,
  ) {
    const initial = params.map((p) => Float32Array.from(p.dataSync() as Float32Array));
    const inner = options.commHook;
    const record: CommHook = (bucket: GradBucket, stream, c) => {
      this.events.push(`start bucket ${bucket.index}`);
      const r = once(inner(bucket, stream, c));
      this.started[bucket.index] = r;
      return r;
    };
    this.ddp = new DataParallel(ctx, initial, { bucketBytes: options.bucketBytes, commHook: record });
    params.forEach((p, i) => p.assign(tf.tensor(initial[i]!, p.shape, 'float32')));
    this.plan = this.ddp.bucketPlan;
    this.started = new Array<HookResult | undefined>(this.plan.length);
  }

  /** Parameter names per bucket, in launch order. */
  get bucketNames(): string[][] {
    return this.plan.map((b) => b.map((i) => this.params[i]!.name));
  }

  /** Parameter i's gradient is final: into its bucket slot it goes, and its bucket may start. */
  readonly gradReady = (i: number, grad: tf.Tensor): void => {
    const slot = this.ddp.grads[i]!;
    if (grad.size !== slot.length) throw new TransportError('EINVAL', `gradient of '${this.params[i]!.name}' has ${grad.size} elements; its bucket slot has ${slot.length}`);
    slot.set(grad.dataSync() as Float32Array);
    this.events.push(`grad ${this.params[i]!.name}`);
    this.ddp.gradReady(i);
  };

  /** What happened since the last call: 'grad <name>' and 'start bucket <k>' in order (shows the overlap with backward). */
  takeEvents(): string[] {
    const e = this.events;
    this.events = [];
    return e;
  }

  /**
   * Waits for bucket after bucket and applies its averaged gradients with
   * `optimizer` while the next ones still reduce. Only for optimizers whose
   * update of a variable reads nothing but that variable's gradient and
   * state kept by name: tfjs's SGD. (tfjs's Momentum and Adam index their
   * slots by position in the map passed and Adam advances its bias
   * correction on every call, so per-bucket calls would be wrong there.)
   * Returns the time spent blocked waiting for buckets, ms.
   */
  applyAsTheyArrive(optimizer: tf.Optimizer): number {
    if (!(optimizer instanceof tf.SGDOptimizer)) throw new TransportError('EINVAL', `applyAsTheyArrive applies bucket by bucket, which only tfjs's SGD allows (got ${optimizer.getClassName()})`);
    const missing = this.plan.flatMap((b, k) => (this.started[k] === undefined ? b.map((i) => this.params[i]!.name) : []));
    if (missing.length > 0) {
      // As torch DDP without find_unused_parameters: a bucket never started would leave every rank waiting.
      throw new TransportError('EINVAL', `no gradient reached the buckets of ${missing.join(', ')} this step; every parameter must take part in the loss`);
    }
    let waited = 0;
    for (let k = 0; k < this.plan.length; k++) {
      const t0 = performance.now();
      settle(this.started[k]!);
      waited += performance.now() - t0;
      // Views of the bucket, not copies: the cpu backend keeps the array it
      // is given, and the update has read it before the bucket is reused.
      const averaged: tf.NamedTensorMap = {};
      for (const i of this.plan[k]!) averaged[this.params[i]!.name] = tf.tensor(this.ddp.grads[i]!, this.params[i]!.shape, 'float32');
      optimizer.applyGradients(averaged);
      tf.dispose(averaged);
    }
    // Every bucket has finished: this only resets the adapter for the next step.
    this.ddp.finish(BUCKET_TIMEOUT_MS);
    this.started.fill(undefined);
    return waited;
  }
}

function settle(r: HookResult): void {
  if ('finish' in r) {
    r.work.wait(BUCKET_TIMEOUT_MS);
    r.finish();
  } else {
    r.wait(BUCKET_TIMEOUT_MS);
  }
}

/** The hook's result with a finish() that runs once: it runs here as the bucket is applied, and DataParallel.finish() calls it again. */
function once(r: HookResult): HookResult {
  if (!('finish' in r)) return r;
  let done = false;
  const work: Work = r.work;
  return {
    work,
    finish() {
      if (done) return;
      done = true;
      r.finish();
    },
  };
}
