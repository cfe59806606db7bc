import { TransportError } from '@collective/transport';
import type { DeviceContext } from '../device_context.js';
import type { CommStream } from '../stream/comm_stream.js';
import type { Work } from '../stream/work.js';

/** torch DDP's bucket_cap_mb default. */
export const DEFAULT_BUCKET_BYTES = 25 * 1024 * 1024;

/** One bucket of gradients as a communication hook sees it. */
export interface GradBucket {
  /** buckets are numbered in launch order: bucket 0 holds the last parameters */
  readonly index: number;
  /** the bucket's gradients, packed (device memory); the hook leaves the average here */
  readonly grads: Float32Array;
  /** which parameters (registration indices) the bucket holds, in packing order */
  readonly params: readonly number[];
}

/** What a hook returns: the Work it started, and what to do once it has finished (unpack a compressed copy…). */
export type HookResult = Work | { work: Work; finish(): void };

const workOf = (r: HookResult): Work => ('finish' in r ? r.work : r);

/**
 * torch DDP's comm hook: starts the reduction of one bucket on the stream.
 * It must leave the average of every rank's gradients in bucket.grads once
 * finished, and must issue the same calls on every rank.
 */
export type CommHook = (bucket: GradBucket, stream: CommStream, ctx: DeviceContext) => HookResult;

export interface DataParallelOptions {
  /** bytes of gradients per bucket (default 25 MiB, as DDP) */
  bucketBytes?: number;
  /** how each bucket is reduced; default all-reduce with op 'avg' */
  commHook?: CommHook;
  /** rank whose initial parameters everyone starts from (default 0) */
  root?: number;
}

/** The default: the bucket's all-reduce (avg) on the stream, in place. */
export const allReduceHook: CommHook = (bucket, stream) => stream.allReduceAsync(bucket.grads, bucket.grads, { op: 'avg' });

interface Bucket extends GradBucket {
  readonly pending: Set<number>;
  launched: HookResult | undefined;
}

/**
 * Data parallelism in the manner of torch DistributedDataParallel, for any
 * framework that can hand over float32 gradients:
 *
 * - the initial parameters of the root rank are broadcast to every rank;
 * - gradients live in buckets of device memory (default 25 MiB), filled in
 *   reverse registration order because backward produces the last layers'
 *   gradients first; `grads[i]` is parameter i's slice of its bucket, so a
 *   client that writes gradients there never copies them again;
 * - gradReady(i) marks a gradient final; a bucket whose gradients are all
 *   final starts reducing on the communication stream at once, while the
 *   device thread goes on (buckets start in bucket order on every rank, so
 *   ranks always issue the same calls in the same order);
 * - finish() starts what is left and waits: afterwards every grads[i] holds
 *   the average over ranks, bitwise the same on every rank;
 * - noSync() makes the next step accumulate locally with no communication
 *   (DDP's no_sync), for gradient accumulation;
 * - a comm hook replaces the all-reduce (bf16CompressHook halves the bytes).
 */
export class DataParallel {
  /** parameter i's gradient: a view into its bucket (device memory) */
  readonly grads: Float32Array[];
  private readonly buckets: Bucket[];
  /** which bucket holds each parameter */
  private readonly bucketOf: number[];
  private readonly stream: CommStream;
  private readonly hook: CommHook;
  private nextLaunch = 0;
  /** false for a step under noSync(): gradients only accumulate */
  private syncing = true;

  /**
   * `params` are the initial parameter values on this rank (any Float32Array,
   * in registration order, as model.parameters()); they are overwritten with
   * the root's, so every rank starts from the same model.
   */
  constructor(
    private readonly ctx: DeviceContext,
    params: readonly Float32Array[],
    options: DataParallelOptions = {},
  ) {
    if (!Array.isArray(params) || params.length === 0 || !params.every((p) => p instanceof Float32Array)) {
      throw new TransportError('EINVAL', 'params must be a non-empty array of Float32Array, one per parameter in registration order');
    }
    const bucketBytes = options.bucketBytes ?? DEFAULT_BUCKET_BYTES;
    if (!Number.isSafeInteger(bucketBytes) || bucketBytes < 4) throw new TransportError('EINVAL', `options.bucketBytes must be an integer of at least 4 (got ${String(options.bucketBytes)})`);
    const root = options.root ?? 0;
    if (!Number.isInteger(root) || root < 0 || root >= ctx.size) throw new TransportError('EINVAL', `options.root must be an integer in [0, ${ctx.size}) (got ${String(options.root)})`);
    if (options.commHook !== undefined && typeof options.commHook !== 'function') throw new TransportError('EINVAL', 'options.commHook must be a function (bucket, stream, ctx) => Work');
    this.stream = ctx.stream;
    this.hook = options.commHook ?? allReduceHook;

    // Reverse registration order, packed up to bucketBytes (a larger parameter gets a bucket of its own).
    const plan: number[][] = [];
    let bytes = Infinity;
    for (let i = params.length - 1; i >= 0; i--) {
      const b = params[i]!.length * 4;
      if (bytes + b > bucketBytes) {
        plan.push([]);
        bytes = 0;
      }
      plan.at(-1)!.push(i);
      bytes += b;
    }
    this.grads = new Array<Float32Array>(params.length);
    this.bucketOf = new Array<number>(params.length);
    this.buckets = plan.map((members, index) => {
      const total = members.reduce((n, i) => n + params[i]!.length, 0);
      const flat = ctx.alloc('float32', total);
      let at = 0;
      for (const i of members) {
        this.grads[i] = flat.subarray(at, at + params[i]!.length);
        this.bucketOf[i] = index;
        at += params[i]!.length;
      }
      return { index, grads: flat, params: members, pending: new Set(members), launched: undefined };
    });
    this.broadcastParams(params, root);
  }

  /** How the gradients were bucketed: parameter indices per bucket, in launch order. */
  get bucketPlan(): number[][] {
    return this.buckets.map((b) => [...b.params]);
  }

  private broadcastParams(params: readonly Float32Array[], root: number): void {
    const total = params.reduce((n, p) => n + p.length, 0);
    const flat = this.ctx.alloc('float32', total);
    let at = 0;
    for (const p of params) {
      flat.set(p, at);
      at += p.length;
    }
    this.stream.broadcast(flat, flat, { root });
    at = 0;
    for (const p of params) {
      p.set(flat.subarray(at, at + p.length));
      at += p.length;
    }
    this.ctx.free(flat);
  }

  /** Sets every gradient to zero (before a step, or after the optimizer used them). */
  zeroGrad(): void {
    this.settle();
    for (const b of this.buckets) b.grads.fill(0);
  }

  /**
   * DDP's no_sync(): the next step only accumulates gradients here (add
   * into grads[i]); the step after it reduces the accumulated sum's average.
   */
  noSync(): void {
    this.settle();
    this.syncing = false;
  }

  /** Marks parameter i's gradient final for this step; its bucket starts once all of its gradients are. */
  gradReady(i: number): void {
    if (!Number.isInteger(i) || i < 0 || i >= this.grads.length) throw new TransportError('EINVAL', `gradReady: parameter index must be an integer in [0, ${this.grads.length}) (got ${String(i)})`);
    if (!this.syncing) return;
    const b = this.buckets[this.bucketOf[i]!]!;
    b.pending.delete(i);
    // Bucket order on every rank: a bucket starts only after the ones before it.
    while (this.nextLaunch < this.buckets.length && this.buckets[this.nextLaunch]!.pending.size === 0) this.launch(this.buckets[this.nextLaunch++]!);
  }

  private launch(b: Bucket): void {
    b.launched = this.hook(b, this.stream, this.ctx);
  }

  /**
   * Ends the step: starts every bucket not started yet and waits for all.
   * Afterwards grads[i] holds the average over ranks (or, after noSync(),
   * this rank's accumulated gradients, untouched). Without timeoutMs the
   * waits are Work.wait()'s: bounded by each bucket's call deadline.
   */
  finish(timeoutMs = Infinity): void {
    if (!this.syncing) {
      this.syncing = true;
      this.resetStep();
      return;
    }
    while (this.nextLaunch < this.buckets.length) this.launch(this.buckets[this.nextLaunch++]!);
    let failure: unknown;
    for (const b of this.buckets) {
      const r = b.launched!;
      try {
        if ('finish' in r) {
          r.work.wait(timeoutMs);
          r.finish();
        } else {
          r.wait(timeoutMs);
        }
      } catch (e) {
        failure ??= e;
      }
    }
    // A bucket that timed out is still being reduced into its gradients: the
    // step stays as it is (the next finish() waits for it again), never
    // reset under a running call that the next step would write over.
    if (this.buckets.some((b) => b.launched !== undefined && !workOf(b.launched).test())) throw failure;
    this.resetStep();
    if (failure !== undefined) throw failure;
  }

  /** finish() for async code: the device thread's event loop runs while the buckets reduce. */
  async finishAsync(): Promise<void> {
    if (!this.syncing) {
      this.finish();
      return;
    }
    while (this.nextLaunch < this.buckets.length) this.launch(this.buckets[this.nextLaunch++]!);
    try {
      for (const b of this.buckets) {
        const r = b.launched!;
        await workOf(r).promise();
        if ('finish' in r) r.finish();
      }
    } finally {
      // After a failure the other buckets' calls may still run: they end (failed or not) before the step resets.
      for (const b of this.buckets) if (b.launched) await workOf(b.launched).promise().catch(() => {});
      this.resetStep();
    }
  }

  private resetStep(): void {
    this.nextLaunch = 0;
    for (const b of this.buckets) {
      b.launched = undefined;
      for (const i of b.params) b.pending.add(i);
    }
  }

  /** Waits out a step still in flight before its buffers are touched. */
  private settle(): void {
    if (this.buckets.some((b) => b.launched !== undefined)) this.finish();
  }
}
