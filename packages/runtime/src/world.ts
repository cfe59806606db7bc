import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { Pool, TransportError } from '@collective/transport';
import { Communicator, type CommOptions } from './communicator.js';
import type { CollectiveOptions } from './communicator.js';
import type { ControllerArgs, ControllerKind } from './controller_program.js';
import { type DeviceArray, dtypeOf } from './device_array.js';
import type { WorldTask } from './world_task.js';

type DistributiveOmit<T, K extends keyof T> = T extends unknown ? Omit<T, K> : never;

export interface WorldOptions extends CommOptions {
  /** number of device workers (ranks) */
  devices: number;
  /** bytes of the shared pool; default 256 MiB */
  poolBytes?: number;
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
  ) {}

  static async start(options: WorldOptions): Promise<World> {
    const n = options.devices;
    if (!Number.isSafeInteger(n) || n <= 0) throw new TransportError('EINVAL', `options.devices must be a positive integer (got ${String(n)})`);
    const poolBytes = options.poolBytes ?? 256 * 1024 * 1024;
    if (!Number.isSafeInteger(poolBytes) || poolBytes <= 0 || poolBytes % 65536 !== 0) {
      throw new TransportError('EINVAL', `options.poolBytes must be a positive multiple of 65536 (got ${String(options.poolBytes)})`);
    }
    const pool = Pool.create({ bytes: poolBytes });
    const id = Communicator.createId(pool, n);
    const { devices: _d, poolBytes: _p, ...commOptions } = options;
    const workers = new Piscina({
      filename: fileURLToPath(new URL('./device_worker.js', import.meta.url)),
      minThreads: n,
      maxThreads: n,
      concurrentTasksPerWorker: 1,
      idleTimeout: Infinity,
      // Tasks of one round must all be running at once; never queue past n.
      maxQueue: 'auto',
      workerData: { pool: pool.describe(), id, control: new SharedArrayBuffer(8), size: n, options: commOptions },
    });
    const world = new World(pool, n, workers);
    try {
      await world.all({ type: 'init' });
    } catch (e) {
      // No half-started world: its threads would keep the process alive.
      await workers.destroy();
      if (/^ENOMEM/.test((e as Error).message)) {
        throw new TransportError('ENOMEM', `options.poolBytes (${poolBytes}) is too small for ${n} devices and their communicator scratch; raise it`);
      }
      throw e;
    }
    return world;
  }

  private async all(body: DistributiveOmit<WorldTask, 'round'>): Promise<unknown[]> {
    const task = { ...body, round: ++this.round } as WorldTask;
    if (this.closed) throw new TransportError('EINVAL', 'world is closed');
    if (this.broken) throw new TransportError('EIO', `world is unusable after an earlier failure (${this.broken.message}); close it and start a new one`);
    const settled = await Promise.allSettled(Array.from({ length: this.size }, () => this.workers.run(task) as Promise<{ rank: number; value: unknown }>));
    const failed = settled.filter((s): s is PromiseRejectedResult => s.status === 'rejected').map((s) => s.reason as Error);
    if (failed.length > 0) {
      // The failing rank is the story; its peers' cancellations and timeouts
      // follow from it. (Errors cross threads without their code property.)
      const cause = failed.find((e) => !/^(ECANCELED|ETIMEDOUT):/.test(e.message)) ?? failed[0]!;
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
    const path = module instanceof URL ? module.href : module;
    return (await this.all({ type: 'spmd', module: path, args })) as T[];
  }

  /**
   * Single-controller path: the main thread hands one host array per rank,
   * every device runs the collective on device memory, and the outputs come
   * back in rank order. (Host arrays are copied in and out; launch() is the
   * zero-copy path.)
   */
  async collective<T extends DeviceArray>(kind: ControllerKind, inputs: T[], options: CollectiveOptions = {}): Promise<T[]> {
    if (!Array.isArray(inputs) || inputs.length !== this.size) {
      throw new TransportError('EINVAL', `${kind} needs one input array per device (${this.size}), got ${Array.isArray(inputs) ? inputs.length : typeof inputs}`);
    }
    const dtype = dtypeOf(inputs[0]!, options.dtype);
    for (const a of inputs) {
      if (dtypeOf(a, options.dtype) !== dtype) throw new TransportError('EINVAL', `every input must be ${dtype}`);
    }
    const args: ControllerArgs = { kind, dtype, inputs, options };
    return this.launch<T>(new URL('./controller_program.js', import.meta.url), args);
  }

  allReduce<T extends DeviceArray>(inputs: T[], options: CollectiveOptions = {}): Promise<T[]> {
    return this.collective('allReduce', inputs, options);
  }

  allGather<T extends DeviceArray>(inputs: T[], options: CollectiveOptions = {}): Promise<T[]> {
    return this.collective('allGather', inputs, options);
  }

  broadcast<T extends DeviceArray>(inputs: T[], options: CollectiveOptions = {}): Promise<T[]> {
    return this.collective('broadcast', inputs, options);
  }

  /** Releases every device; after a failure the threads are simply ended with the pool. */
  async close(): Promise<void> {
    if (this.closed) return;
    try {
      if (!this.broken) await this.all({ type: 'close' });
    } finally {
      this.closed = true;
      await this.workers.destroy();
    }
  }
}
