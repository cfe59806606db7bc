import { Pool, setJobSecret, TransportError } from '@collective/transport';
import { missingModuleFile, moduleHref } from '@collective/transport/runtime';
import { type DeviceThreads, startDeviceThreads } from './device_threads.js';
import { checkCommOptions } from './comm/comm_setup.js';
import { Communicator, type CommId, type CommOptions } from './communicator.js';
import type { CollectiveOptions } from './communicator.js';
import { type ControllerKind, controllerArgs } from './controller_program.js';
import type { DeviceArray } from './device_array.js';
import type { WorldTask } from './world_task.js';
import { StreamThreads } from './stream/stream_threads.js';
import type { JobTopology } from '@collective/rendezvous';
import { type Rendezvous, rendezvous } from './join_rendezvous.js';
import { createCommId } from './comm/comm_id.js';
import { jobCommLabel } from './comm/job_comm_label.js';
import { joinRounds, type JoinKeys, leaveTogether, nextJoinKeys } from './world_join.js';
import { checkWorldSizing } from './world_options.js';
import { watchDeviceWorkers } from './world_death_watch.js';
import { deviceControl, roundFailure, watchdog } from './world_watchdog.js';

type DistributiveOmit<T, K extends keyof T> = T extends unknown ? Omit<T, K> : never;

export interface JoinOptions extends CommOptions {
  /** devices (worker threads) of this process */
  devices: number;
  /** bytes of this process's pool; default 256 MiB */
  poolBytes?: number;
  /** a communication stream per device (ctx.stream), its communicator over every device of the job */
  streams?: boolean;
  /** the job this process already joined with rendezvous(); by default World.join calls it on the launcher's environment */
  rendezvous?: Rendezvous;
  /** deadline of the rendezvous and of the join, ms (default 120 s) */
  joinTimeoutMs?: number;
}

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
 * one communicator. device_threads.ts keeps the threads (piscina in Node, Web Workers in a page); launch() runs an SPMD module
 * in all of them (the controller path for the main thread).
 */
export class World {
  private closed = false;
  private broken: Error | undefined;
  private round = 0;

  private constructor(
    readonly pool: Pool,
    /** ranks of the World's communicator: every device of every process of the job */
    readonly size: number,
    private readonly workers: DeviceThreads,
    private readonly id: CommId,
    private readonly streams: StreamThreads | undefined,
    /** one word per local rank, 1 while its device worker runs a task */
    private readonly busy: Int32Array,
    /** devices of this process */
    readonly localSize: number = size,
    /** global rank of this process's first device (ranks are numbered process by process) */
    readonly rankOffset: number = 0,
    private readonly joined?: { rendezvous: Rendezvous; keys: JoinKeys },
  ) {}

  /** The job this World joined (World.join), with every process's record; undefined for a World of one process. */
  get job(): JobTopology | undefined {
    return this.joined?.rendezvous.job;
  }

  /**
   * Joins this process to a job of several processes (started by
   * collective-run, torchrun, mpirun or srun: the environment says which,
   * or pass a rendezvous()): one communicator spans every device of every
   * process, ranks numbered process by process (process p's devices are
   * ranks deviceOffsets[p]..); peers in this process use shm, the others
   * tcp. launch() and the single-controller calls then run on this
   * process's devices, in step with the other processes' calls.
   */
  static async join(options: JoinOptions): Promise<World> {
    const { n, poolBytes } = checkWorldSizing('World.join', options);
    const { devices: _d, poolBytes: _p, streams: withStreams, rendezvous: given, joinTimeoutMs, ...commOptions } = options;
    checkCommOptions(commOptions);
    const timeoutMs = joinTimeoutMs ?? 120_000;
    const rv =
      given ??
      (await rendezvous({
        devices: n,
        poolBytes,
        timeoutMs,
        // Scratch layouts must match across processes.
        options: { slotBytes: commOptions.slotBytes ?? null },
      }));
    const me = rv.job.ranks[rv.job.rank]!;
    if (me.devices !== n) throw new TransportError('EINVAL', `options.devices is ${n} but this process rendezvoused with ${me.devices}; pass the same count`);
    const size = rv.job.totalDevices;
    const offset = rv.job.deviceOffsets[rv.job.rank]!;
    // Threads of processes on this machine share its cores, network namespaces or not.
    // With streams, a stream thread communicates while its device thread computes: twice the threads.
    commOptions.hostRanks ??= rv.job.ranks.filter((r) => r.hostname === me.hostname).reduce((n, r) => n + r.devices, 0) * (withStreams ? 2 : 1);
    const keys = nextJoinKeys();
    const pool = Pool.create({ bytes: poolBytes });
    // Before any endpoint opens: the socket listener authenticates every connection with it.
    setJobSecret(pool, rv.secret);
    // One name on every process: the job's flight records of this communicator join on it.
    const label = jobCommLabel(rv.job, keys.prefix);
    const id = createCommId(pool, size, n, label);
    // The streams' communicator spans the job too: one stream per device, ranked as the devices.
    const streams = withStreams ? StreamThreads.start(pool, n, commOptions, { id: createCommId(pool, size, n, `${label}-streams`), offset }) : undefined;
    const { control, busy } = deviceControl(n);
    const workers = startDeviceThreads(n, { pool: pool.describe(), id, control, size: n, options: commOptions, job: { offset, size }, streams: streams?.blocks });
    const world = new World(pool, size, workers, id, streams, busy, n, offset, { rendezvous: rv, keys });
    world.watchDeviceWorkers();
    try {
      await joinRounds({ store: rv.store, job: rv.job, keys, size, timeoutMs, streams, all: (task) => world.all(task) });
    } catch (e) {
      world.closed = true;
      streams?.finish({ abandon: (e as Error).message });
      await workers.destroy();
      await streams?.terminate();
      if (!given) await rv.close().catch(() => {});
      throw e;
    }
    world.ownsRendezvous = !given;
    return world;
  }

  private ownsRendezvous = false;

  static async start(options: WorldOptions): Promise<World> {
    const { n, poolBytes } = checkWorldSizing('World.start', options);
    const { devices: _d, poolBytes: _p, streams: withStreams, ...commOptions } = options;
    checkCommOptions(commOptions);
    const pool = Pool.create({ bytes: poolBytes });
    const id = Communicator.createId(pool, n);
    const streams = withStreams ? StreamThreads.start(pool, n, commOptions) : undefined;
    const { control, busy } = deviceControl(n);
    const workers = startDeviceThreads(n, { pool: pool.describe(), id, control, size: n, options: commOptions, streams: streams?.blocks });
    const world = new World(pool, n, workers, id, streams, busy);
    world.watchDeviceWorkers();
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

  /** A device worker that dies aborts the communicator (world_death_watch.ts). */
  private watchDeviceWorkers(): void {
    watchDeviceWorkers({ pool: this.pool, workers: this.workers, id: this.id, size: this.size, rankOffset: this.rankOffset, streams: this.streams, closed: () => this.closed });
  }

  /**
   * Runs one task on every device thread and waits for all of them. The
   * World's own tasks are bounded inside (the round barrier's 60 s, the
   * calls' timeoutMs, the stream's start and stop); a launch runs the user's
   * module, as long as it runs, unless a rank failed: then the others get
   * the watchdog's grace (world_watchdog.ts). A task queues behind a launch still running
   * on its thread (close() during a launch waits for the launch).
   */
  private async all(body: DistributiveOmit<WorldTask, 'round'>): Promise<unknown[]> {
    if (this.closed) throw new TransportError('EINVAL', 'world is closed');
    if (this.broken) throw new TransportError('EIO', `world is unusable after an earlier failure (${this.broken.message}); close it and start a new one`);
    const task = { ...body, round: ++this.round } as WorldTask;
    const runs = Array.from({ length: this.localSize }, () => this.workers.run(task) as Promise<{ rank: number; value: unknown }>);
    const { stuck, first } = await watchdog(runs, { workers: this.workers, busy: this.busy, localSize: this.localSize, rankOffset: this.rankOffset });
    const settled = await Promise.allSettled(runs);
    const failed = settled.filter((s): s is PromiseRejectedResult => s.status === 'rejected').map((s) => s.reason as Error);
    if (failed.length > 0) {
      const cause = roundFailure(failed, stuck, first);
      this.broken = cause;
      throw cause;
    }
    const out: unknown[] = new Array(this.localSize);
    for (const s of settled) {
      const v = (s as PromiseFulfilledResult<{ rank: number; value: unknown }>).value;
      out[v.rank - this.rankOffset] = v.value;
    }
    return out;
  }

  /**
   * Runs `module`'s default export in every device (SPMD) with a
   * DeviceContext; resolves to the results in rank order.
   */
  async launch<T = unknown>(module: string | URL, args?: unknown): Promise<T[]> {
    const href = module instanceof URL ? module.href : typeof module === 'string' ? moduleHref(module) : undefined;
    if (href === undefined) throw new TransportError('EINVAL', `module must be a path or a URL (got ${typeof module})`);
    const missing = missingModuleFile(href);
    if (missing !== undefined) throw new TransportError('ENOENT', `launch module ${missing} does not exist; pass the path of a built .js file`);
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
    const args = controllerArgs(kind, inputs, options, this.localSize, this.size, this.joined !== undefined);
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
    // Whether every local rank's communicator was still healthy: a job that
    // lost a process must not wait for it to say goodbye.
    let healthy = !this.broken;
    try {
      if (this.joined && healthy) {
        // A healthy job leaves together (leaveTogether says why).
        healthy = ((await this.all({ type: 'health' })) as boolean[]).every((ok) => ok);
        if (healthy) {
          const { rendezvous: rv, keys } = this.joined;
          healthy = await leaveTogether(rv.store, keys, rv.job.worldSize);
        }
      }
      if (!this.broken) healthy = ((await this.all({ type: 'close' })) as boolean[]).every((ok) => ok) && healthy;
    } finally {
      this.closed = true;
      // Joins the device threads without a deadline: every task has settled
      // (all() waits for them), so each thread is idle in piscina's
      // Atomics.wait, which terminate() interrupts at once.
      await this.workers.destroy();
      await this.streams?.terminate();
      // Bounded by the rendezvous' store calls (their timeoutMs).
      if (this.joined && this.ownsRendezvous) await this.joined.rendezvous.close({ waitForOthers: healthy }).catch(() => {});
    }
  }
}

