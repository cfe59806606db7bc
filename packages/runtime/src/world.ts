import { Pool, setJobSecret, TransportError, WASM_PAGE_SIZE } from '@collective/transport';
import { checkCollectiveOptions } from './collective_options.js';
import { missingModuleFile, moduleHref, unrefTimer } from '@collective/transport/runtime';
import { type DeviceThreads, startDeviceThreads } from './device_threads.js';
import { CollectiveError } from './comm_errors.js';
import { setAborted } from './comm_base/abort_state.js';
import { blockOf } from './comm/comm_id.js';
import { R, rankBase } from './comm_base/comm_block.js';
import { checkCommOptions } from './comm/comm_setup.js';
import { Communicator, type CommId, type CommOptions } from './communicator.js';
import type { CollectiveOptions } from './communicator.js';
import { type ControllerArgs, type ControllerKind, controllerKind, outputLength } from './controller_program.js';
import { type DeviceArray, dtypeOf } from './device_array.js';
import type { WorldTask } from './world_task.js';
import { StreamThreads } from './stream/stream_threads.js';
import type { JobTopology } from '@collective/rendezvous';
import { type Rendezvous, rendezvous } from './join_rendezvous.js';
import { createCommId } from './comm/comm_id.js';
import { jobCommLabel } from './comm/job_comm_label.js';
import type { PeerRecord } from './comm_base/peer_record.js';
import { exchangeRecords, JoinKeys, markAbort, storeBarrier } from './world_join.js';

type DistributiveOmit<T, K extends keyof T> = T extends unknown ? Omit<T, K> : never;

/** How long a joined World waits for the other processes to reach close(). */
const LEAVE_TIMEOUT_MS = 60_000;

/** One worker thread per device: the tasks of one round must all run at once, so nothing queues past n. */
/**
 * After a rank of a launch() failed, how long the others may take to return
 * before the watchdog stops their threads (torch's NCCL watchdog tears the
 * process down the same way): a rank stuck in user code, or sleeping, would
 * otherwise keep launch() from settling long after its peers failed.
 */
const WATCHDOG_MS = 10_000;

/** The device workers' shared words: two for the rounds, then one per local rank, 1 while it runs a task. */
const BUSY_BYTE = 8;
const workerControl = (n: number): SharedArrayBuffer => new SharedArrayBuffer(BUSY_BYTE + 4 * n);

/** Counts this process's joins: the n-th join of every process of a job meets under the same store keys. */
let joins = 0;

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

function checkPoolBytes(v: unknown): number {
  const poolBytes = v ?? 256 * 1024 * 1024;
  if (typeof poolBytes !== 'number' || !Number.isSafeInteger(poolBytes) || poolBytes <= 0 || poolBytes % WASM_PAGE_SIZE !== 0) {
    throw new TransportError('EINVAL', `options.poolBytes must be a positive multiple of ${WASM_PAGE_SIZE} (got ${String(v)})`);
  }
  return poolBytes;
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
    if (!options || typeof options !== 'object') throw new TransportError('EINVAL', 'World.join needs an options object such as { devices: 2 }');
    const n = options.devices;
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n <= 0) throw new TransportError('EINVAL', `options.devices must be a positive integer (got ${String(n)})`);
    const poolBytes = checkPoolBytes(options.poolBytes);
    if (options.streams !== undefined && typeof options.streams !== 'boolean') throw new TransportError('EINVAL', `options.streams must be true or false (got ${String(options.streams)})`);
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
    const keys = new JoinKeys(`collective/world/${++joins}`);
    const pool = Pool.create({ bytes: poolBytes });
    // Before any endpoint opens: the socket listener authenticates every connection with it.
    setJobSecret(pool, rv.secret);
    // One name on every process: the job's flight records of this communicator join on it.
    const label = jobCommLabel(rv.job, keys.prefix);
    const id = createCommId(pool, size, n, label);
    // The streams' communicator spans the job too: one stream per device, ranked as the devices.
    const streams = withStreams ? StreamThreads.start(pool, n, commOptions, { id: createCommId(pool, size, n, `${label}-streams`), offset }) : undefined;
    const control = workerControl(n);
    const workers = startDeviceThreads(n, { pool: pool.describe(), id, control, size: n, options: commOptions, job: { offset, size }, streams: streams?.blocks });
    const world = new World(pool, size, workers, id, streams, n, offset, { rendezvous: rv, keys });
    world.busy = new Int32Array(control, BUSY_BYTE, n);
    world.watchDeviceWorkers();
    let stage = 'prepare';
    try {
      const records = (await world.all({ type: 'prepare' })) as PeerRecord[];
      stage = 'exchange';
      const directory = await exchangeRecords(rv.store, keys, records, size, timeoutMs);
      if (streams) {
        stage = 'streams';
        const streamKeys = new JoinKeys(`${keys.prefix}/streams`);
        streams.finish(await exchangeRecords(rv.store, streamKeys, await streams.records(timeoutMs), size, timeoutMs));
      }
      stage = 'finish';
      await world.all({ type: 'finish', directory });
      stage = 'joined';
      // No process sends before every endpoint knows every peer: a message ahead of that would have no sender.
      await storeBarrier(rv.store, keys, 'joined', rv.job.worldSize, timeoutMs);
    } catch (e) {
      await markAbort(rv.store, keys, `process ${rv.job.rank} (host ${me.hostname}, pid ${me.pid}) failed at ${stage}: ${(e as Error).message}`);
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
    const control = workerControl(n);
    const workers = startDeviceThreads(n, { pool: pool.describe(), id, control, size: n, options: commOptions, streams: streams?.blocks });
    const world = new World(pool, n, workers, id, streams);
    world.busy = new Int32Array(control, BUSY_BYTE, n);
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

  private readonly watched = new WeakSet<object>();

  /**
   * A worker that dies (a crash, process.exit, terminate) releases what it
   * held in the pool and aborts the communicator, so nobody waits on it:
   * every worker is watched, also those started later.
   */
  private watchDeviceWorkers(): void {
    this.workers.onThreadCreate(() => this.watchWorkers());
    this.watchWorkers();
  }

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
          this.streams?.lost(q - this.rankOffset, `the device worker of rank ${q} died`);
        }
      }
    } catch {
      // The communicator is already gone.
    }
  }

  /** one word per local rank, 1 while its device worker runs a task */
  private busy: Int32Array | undefined;

  /**
   * Runs one task on every device thread and waits for all of them. The
   * World's own tasks are bounded inside (the round barrier's 60 s, the
   * calls' timeoutMs, the stream's start and stop); a launch runs the user's
   * module, as long as it runs, unless a rank failed: then the others get
   * WATCHDOG_MS (watchdog()). A task queues behind a launch still running
   * on its thread (close() during a launch waits for the launch).
   */
  private async all(body: DistributiveOmit<WorldTask, 'round'>): Promise<unknown[]> {
    if (this.closed) throw new TransportError('EINVAL', 'world is closed');
    if (this.broken) throw new TransportError('EIO', `world is unusable after an earlier failure (${this.broken.message}); close it and start a new one`);
    const task = { ...body, round: ++this.round } as WorldTask;
    const runs = Array.from({ length: this.localSize }, () => this.workers.run(task) as Promise<{ rank: number; value: unknown }>);
    const { stuck, first } = await this.watchdog(runs);
    const settled = await Promise.allSettled(runs);
    const failed = settled.filter((s): s is PromiseRejectedResult => s.status === 'rejected').map((s) => s.reason as Error);
    if (failed.length > 0) {
      // The failing rank is the story; its peers' cancellations and timeouts
      // follow from it. (Errors cross threads without their code property.)
      let cause = failed.find((e) => !/^(ECANCELED|ETIMEDOUT):|was aborted by rank|Terminating worker thread/.test(e.message)) ?? failed[0]!;
      if (stuck.length > 0) {
        // The failure that started the watchdog is the story, not the stopped threads' exits.
        cause = first ?? cause;
        cause = new CollectiveError('ETIMEDOUT', `${cause.message.replace(/^[A-Z]+: /, '')}; rank${stuck.length === 1 ? '' : 's'} ${stuck.join(', ')} did not return within ${WATCHDOG_MS} ms after that (stuck in its own code?), and the watchdog stopped ${stuck.length === 1 ? 'its thread' : 'their threads'}: close this World`);
      }
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
   * Once a rank's task failed, gives the others WATCHDOG_MS to return, then
   * terminates the device threads still running theirs (their tasks then
   * fail too) and names their ranks. The World is unusable after a failure
   * anyway; without this a rank stuck in user code would keep the caller
   * waiting for ever.
   */
  private watchdog(runs: Promise<unknown>[]): Promise<{ stuck: number[]; first?: Error }> {
    return new Promise((resolve) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      let first: Error | undefined;
      void Promise.allSettled(runs).then(() => {
        clearTimeout(timer);
        resolve({ stuck: [] });
      });
      for (const p of runs) {
        p.catch((e: Error) => {
          first ??= e;
          timer ??= setTimeout(() => {
            const stuck: number[] = [];
            for (let i = 0; i < this.localSize; i++) if (this.busy && Atomics.load(this.busy, i) === 1) stuck.push(this.rankOffset + i);
            if (stuck.length === 0) return;
            for (const t of this.workers.threads) void t.terminate();
            resolve({ stuck, first });
          }, WATCHDOG_MS);
          unrefTimer(timer);
        });
      }
    });
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
    const k = controllerKind(kind);
    if (!Array.isArray(inputs) || inputs.length !== this.localSize) {
      throw new TransportError('EINVAL', `${k} needs one input array per device${this.joined ? ' of this process' : ''} (${this.localSize}), got ${Array.isArray(inputs) ? inputs.length : typeof inputs}`);
    }
    checkCollectiveOptions(k, options, this.size);
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
    // Whether every local rank's communicator was still healthy: a job that
    // lost a process must not wait for it to say goodbye.
    let healthy = !this.broken;
    try {
      if (this.joined && healthy) {
        // A healthy job leaves together: a process that closed its endpoint
        // while a peer still finishes its last call (an acknowledgement on
        // its way) would fail that call.
        healthy = ((await this.all({ type: 'health' })) as boolean[]).every((ok) => ok);
        if (healthy) {
          const { rendezvous: rv, keys } = this.joined;
          healthy = await storeBarrier(rv.store, keys, 'leave', rv.job.worldSize, LEAVE_TIMEOUT_MS).then(
            () => true,
            () => false,
          );
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

