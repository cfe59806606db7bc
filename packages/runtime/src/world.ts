import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Piscina } from 'piscina';
import { Pool, TransportError, WASM_PAGE_SIZE } from '@collective/transport';
import { setAborted } from './comm/abort_state.js';
import { blockOf } from './comm/comm_id.js';
import { R, rankBase } from './comm/comm_block.js';
import { checkCommOptions } from './comm/comm_setup.js';
import { Communicator, type CommId, type CommOptions } from './communicator.js';
import type { CollectiveOptions } from './communicator.js';
import { type ControllerArgs, type ControllerKind, controllerKind, outputLength } from './controller_program.js';
import { type DeviceArray, dtypeOf } from './device_array.js';
import { checkDtype } from './dtypes.js';
import { checkOp } from './ops.js';
import { algorithmNames } from './tuner.js';
import type { WorldTask } from './world_task.js';
import { StreamThreads } from './stream/stream_threads.js';

type DistributiveOmit<T, K extends keyof T> = T extends unknown ? Omit<T, K> : never;

export interface WorldOptions extends CommOptions {
  /** number of device workers (ranks) */
  devices: number;
  /** bytes of the shared pool; default 256 MiB */
  poolBytes?: number;
  /**
   * give every device a communication stream (ctx.stream): a thread of its
   * own that runs the device's collectives in issue order while the device
   * thread computes, for nonblocking calls and overlap
   */
  streams?: boolean;
}

/**
 * N device workers sharing one pool, each owning a device and a rank of
 * one communicator. piscina keeps the threads; launch() runs an SPMD module
 * in all of them (the controller path for the main thread).
 */
export class World {
  private closed = false;
  private broken: Error | undefined;
  private round = 0;

  private constructor(
    readonly pool: Pool,
    readonly size: number,
    private readonly workers: Piscina,
    private readonly id: CommId,
    private readonly streams: StreamThreads | undefined,
  ) {}

  static async start(options: WorldOptions): Promise<World> {
    if (!options || typeof options !== 'object') throw new TransportError('EINVAL', 'World.start needs an options object such as { devices: 2 }');
    const n = options.devices;
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n <= 0) throw new TransportError('EINVAL', `options.devices must be a positive integer (got ${String(n)})`);
    const poolBytes = options.poolBytes ?? 256 * 1024 * 1024;
    if (typeof poolBytes !== 'number' || !Number.isSafeInteger(poolBytes) || poolBytes <= 0 || poolBytes % WASM_PAGE_SIZE !== 0) {
      throw new TransportError('EINVAL', `options.poolBytes must be a positive multiple of ${WASM_PAGE_SIZE} (got ${String(options.poolBytes)})`);
    }
    if (options.streams !== undefined && typeof options.streams !== 'boolean') throw new TransportError('EINVAL', `options.streams must be true or false (got ${String(options.streams)})`);
    const { devices: _d, poolBytes: _p, streams: withStreams, ...commOptions } = options;
    checkCommOptions(commOptions);
    const pool = Pool.create({ bytes: poolBytes });
    const id = Communicator.createId(pool, n);
    const streams = withStreams ? StreamThreads.start(pool, n, commOptions) : undefined;
    const workers = new Piscina({
      filename: fileURLToPath(new URL('./device_worker.js', import.meta.url)),
      minThreads: n,
      maxThreads: n,
      concurrentTasksPerWorker: 1,
      idleTimeout: Infinity,
      // Tasks of one round must all be running at once; never queue past n.
      maxQueue: 'auto',
      workerData: { pool: pool.describe(), id, control: new SharedArrayBuffer(8), size: n, options: commOptions, streams: streams?.blocks },
    });
    const world = new World(pool, n, workers, id, streams);
    // A worker that dies (a crash, process.exit, terminate) releases what it
    // held in the pool and aborts the communicator, so nobody waits on it.
    workers.on('workerCreate', () => world.watchWorkers());
    world.watchWorkers();
    try {
      await world.all({ type: 'init' });
    } catch (e) {
      // No half-started world: its threads would keep the process alive.
      await workers.destroy();
      await streams?.terminate();
      if ((e as TransportError).code === 'ENOMEM' || /^ENOMEM/.test((e as Error).message)) {
        throw new TransportError('ENOMEM', `options.poolBytes (${poolBytes}) is too small for ${n} devices and their communicator scratch; raise it`);
      }
      throw e;
    }
    return world;
  }

  private readonly watched = new WeakSet<object>();

  private watchWorkers(): void {
    for (const t of this.workers.threads) {
      if (this.watched.has(t)) continue;
      this.watched.add(t);
      // The id must be read now: an exited Worker reports -1.
      const owner = t.threadId + 1;
      this.pool.watch(t);
      t.once('exit', () => this.onWorkerDeath(owner));
    }
  }

  private onWorkerDeath(owner: number): void {
    if (this.closed) return;
    try {
      const words = blockOf(this.pool, this.id);
      for (let q = 0; q < this.size; q++) {
        if (words[rankBase(q) + R.THREAD] === owner) {
          setAborted(words, q, 'EIO', `the device worker of rank ${q} died`);
          this.streams?.lost(q, `the device worker of rank ${q} died`);
        }
      }
    } catch {
      // The communicator is already gone.
    }
  }

  private async all(body: DistributiveOmit<WorldTask, 'round'>): Promise<unknown[]> {
    if (this.closed) throw new TransportError('EINVAL', 'world is closed');
    if (this.broken) throw new TransportError('EIO', `world is unusable after an earlier failure (${this.broken.message}); close it and start a new one`);
    const task = { ...body, round: ++this.round } as WorldTask;
    const settled = await Promise.allSettled(Array.from({ length: this.size }, () => this.workers.run(task) as Promise<{ rank: number; value: unknown }>));
    const failed = settled.filter((s): s is PromiseRejectedResult => s.status === 'rejected').map((s) => s.reason as Error);
    if (failed.length > 0) {
      // The failing rank is the story; its peers' cancellations and timeouts
      // follow from it. (Errors cross threads without their code property.)
      const cause = failed.find((e) => !/^(ECANCELED|ETIMEDOUT):|was aborted by rank/.test(e.message)) ?? failed[0]!;
      this.broken = cause;
      throw cause;
    }
    const out: unknown[] = new Array(this.size);
    for (const s of settled) {
      const v = (s as PromiseFulfilledResult<{ rank: number; value: unknown }>).value;
      out[v.rank] = v.value;
    }
    return out;
  }

  /**
   * Runs `module`'s default export in every device (SPMD) with a
   * DeviceContext; resolves to the results in rank order.
   */
  async launch<T = unknown>(module: string | URL, args?: unknown): Promise<T[]> {
    const href = module instanceof URL ? module.href : typeof module === 'string' ? (module.startsWith('file:') ? module : pathToFileURL(module).href) : undefined;
    if (href === undefined) throw new TransportError('EINVAL', `module must be a path or a URL (got ${typeof module})`);
    if (href.startsWith('file:') && !existsSync(fileURLToPath(href))) {
      throw new TransportError('ENOENT', `launch module ${fileURLToPath(href)} does not exist; pass the path of a built .js file`);
    }
    return (await this.all({ type: 'spmd', module: href, args })) as T[];
  }

  /**
   * Single-controller path: the main thread hands one host array per rank,
   * every device runs the collective on device memory, and the outputs come
   * back in rank order. (Host arrays are copied in and out; launch() is the
   * zero-copy path.) Bad arguments are refused here, before any device
   * starts, so the World stays usable.
   */
  async collective<T extends DeviceArray>(kind: ControllerKind | string, inputs: T[], options: CollectiveOptions = {}): Promise<T[]> {
    const k = controllerKind(kind);
    if (!Array.isArray(inputs) || inputs.length !== this.size) {
      throw new TransportError('EINVAL', `${k} needs one input array per device (${this.size}), got ${Array.isArray(inputs) ? inputs.length : typeof inputs}`);
    }
    if (options === null || typeof options !== 'object') throw new TransportError('EINVAL', `options must be an object (got ${String(options)})`);
    if (options.dtype !== undefined) checkDtype('options.dtype', options.dtype);
    if (options.op !== undefined) checkOp('options.op', options.op);
    if (options.root !== undefined && (!Number.isInteger(options.root) || options.root < 0 || options.root >= this.size)) {
      throw new TransportError('EINVAL', `options.root must be an integer in [0, ${this.size}) (got ${String(options.root)})`);
    }
    if (options.algo !== undefined && !algorithmNames(k).includes(options.algo as never)) {
      throw new TransportError('EINVAL', `options.algo '${String(options.algo)}' is not an algorithm of ${k}; choose from ${algorithmNames(k).join(', ')}`);
    }
    if (options.timeoutMs !== undefined && (!Number.isSafeInteger(options.timeoutMs) || options.timeoutMs <= 0)) {
      throw new TransportError('EINVAL', `options.timeoutMs must be a positive integer (got ${String(options.timeoutMs)})`);
    }
    const dtype = dtypeOf(inputs[0]!, options.dtype);
    for (const [r, a] of inputs.entries()) {
      if (dtypeOf(a, options.dtype) !== dtype) throw new TransportError('EINVAL', `inputs[${r}] is not ${dtype}; every input must have the dtype of inputs[0]`);
      if (a.length !== inputs[0]!.length) throw new TransportError('EINVAL', `inputs[${r}] has ${a.length} elements but inputs[0] has ${inputs[0]!.length}; every input must have the same length`);
    }
    outputLength(k, inputs[0]!.length, this.size);
    const args: ControllerArgs = { kind: k, dtype, inputs, options };
    return this.launch<T>(new URL('./controller_program.js', import.meta.url), args);
  }

  allReduce<T extends DeviceArray>(inputs: T[], options: CollectiveOptions = {}): Promise<T[]> {
    return this.collective('allReduce', inputs, options);
  }

  allGather<T extends DeviceArray>(inputs: T[], options: CollectiveOptions = {}): Promise<T[]> {
    return this.collective('allGather', inputs, options);
  }

  reduceScatter<T extends DeviceArray>(inputs: T[], options: CollectiveOptions = {}): Promise<T[]> {
    return this.collective('reduceScatter', inputs, options);
  }

  broadcast<T extends DeviceArray>(inputs: T[], options: CollectiveOptions = {}): Promise<T[]> {
    return this.collective('broadcast', inputs, options);
  }

  reduce<T extends DeviceArray>(inputs: T[], options: CollectiveOptions = {}): Promise<T[]> {
    return this.collective('reduce', inputs, options);
  }

  allToAll<T extends DeviceArray>(inputs: T[], options: CollectiveOptions = {}): Promise<T[]> {
    return this.collective('allToAll', inputs, options);
  }

  /** Releases every device; after a failure the threads are simply ended with the pool. */
  async close(): Promise<void> {
    if (this.closed) return;
    try {
      if (!this.broken) await this.all({ type: 'close' });
    } finally {
      this.closed = true;
      await this.workers.destroy();
      await this.streams?.terminate();
    }
  }
}

