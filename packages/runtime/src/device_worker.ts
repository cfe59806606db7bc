// The worker behind World (piscina's in Node, device_worker_browser.js's in a page): one device and one rank per thread,
// kept across tasks. Every task starts with a barrier, so n tasks submitted
// together run on n distinct workers, one per rank.
import { Device, Pool, type PoolDescriptor, TransportError } from '@collective/transport';
import { moduleHref, threadData } from '@collective/transport/runtime';
import { type CommId, Communicator, type CommOptions, type PreparedCommunicator } from './communicator.js';
import { DeviceContext, type SpmdFunction } from './device_context.js';
import type { WorldTask } from './world_task.js';
import { CommStream } from './stream/comm_stream.js';
import { S } from './stream/stream_block.js';

interface WorkerData {
  pool: PoolDescriptor;
  id: CommId;
  /** [0]: next rank to hand out; [1]: barrier arrivals */
  control: SharedArrayBuffer;
  size: number;
  options: CommOptions;
  /** the stream blocks, by rank, when the World has communication streams */
  streams?: SharedArrayBuffer[];
  /** a World joined to a job of several processes: the global rank of this process's first device, and the job's device count */
  job?: { offset: number; size: number };
}

const data = threadData() as WorkerData;
const pool = Pool.attach(data.pool);
let state: { rank: number; local: number; device: Device; comm: Communicator; stream: CommStream | undefined } | undefined;
/** between 'prepare' and 'finish' of a joined World */
let prepared: { rank: number; local: number; device: Device; prepared: PreparedCommunicator } | undefined;

function fail(message: string): never {
  throw new TransportError('EINVAL', `device worker: ${message}`);
}

function current(): NonNullable<typeof state> {
  if (!state) throw new TransportError('EINVAL', 'device worker has no rank yet: World.start() initialises it');
  return state;
}

const control = new Int32Array(data.control);
/** one word per local rank after the two round words: 1 while an SPMD task runs (the World's watchdog reads it) */
const busy = new Int32Array(data.control, 8);
const ROUND_TIMEOUT_MS = 60_000;

/**
 * Holds a task until all n tasks of its round have reached barrier
 * `phase` (two per round). A worker held here cannot take a second task,
 * so the round lands on n distinct workers whatever the communicator's state.
 */
function roundBarrier(round: number, phase: number): void {
  const target = (2 * (round - 1) + phase) * data.size;
  Atomics.add(control, 1, 1);
  Atomics.notify(control, 1);
  const end = Date.now() + ROUND_TIMEOUT_MS;
  for (;;) {
    const v = Atomics.load(control, 1);
    if (v >= target) return;
    if (Date.now() > end) throw new TransportError('ETIMEDOUT', `world round ${round}: only ${v - target + data.size} of ${data.size} device workers arrived within ${ROUND_TIMEOUT_MS} ms; a device thread still busy with an earlier task (a launch() that has not returned) or gone holds the round up: let it finish, or close the World`);
    Atomics.wait(control, 1, v, 50);
  }
}

/** How long the streams get to open their devices and join their communicator. */
const STREAM_START_MS = 60_000;

/** Grants this device's stream its handle and waits until the stream's communicator is up. */
function startStream(device: Device, block: SharedArrayBuffer, rank: number): CommStream {
  grantStream(device, block);
  return awaitStream(block, rank);
}

function grantStream(device: Device, block: SharedArrayBuffer): void {
  const w = new Int32Array(block);
  Atomics.store(w, S.GRANT, device.grantStream());
  Atomics.notify(w, S.GRANT);
}

/** Waits until the stream granted this device is up (a joined World's stream first needs the job's directory). */
function awaitStream(block: SharedArrayBuffer, rank: number): CommStream {
  const w = new Int32Array(block);
  const size = data.job?.size ?? data.size;
  const end = Date.now() + STREAM_START_MS;
  while (Atomics.load(w, S.READY) === 0) {
    const stream = new CommStream(block, pool, rank, size);
    const dead = stream.asyncError();
    if (dead) throw dead;
    if (Date.now() > end) throw new TransportError('ETIMEDOUT', `the communication stream of rank ${rank} did not start within ${STREAM_START_MS} ms; it joins its own communicator (within the World's timeoutMs) once granted: a rank whose stream never came up holds it back`);
    Atomics.wait(w, S.READY, 0, 50);
  }
  return new CommStream(block, pool, rank, size);
}

export default async function run(task: WorldTask): Promise<{ rank: number; value: unknown }> {
  roundBarrier(task.round, 1);
  if (task.type === 'init') {
    const rank = Atomics.add(control, 0, 1);
    const device = Device.open(pool, rank);
    const comm = Communicator.init(device, data.id, rank, data.options);
    const stream = data.streams ? startStream(device, data.streams[rank]!, rank) : undefined;
    state = { rank, local: rank, device, comm, stream };
    roundBarrier(task.round, 2);
    return { rank, value: rank };
  }
  if (task.type === 'prepare') {
    const local = Atomics.add(control, 0, 1);
    // Every device holds its task before any can fail: a failure must not leave the others at the barrier.
    roundBarrier(task.round, 2);
    const rank = data.job!.offset + local;
    const device = Device.open(pool, local);
    try {
      prepared = { rank, local, device, prepared: Communicator.prepare(device, data.id, rank, data.options, 'tcp') };
    } catch (e) {
      device.close();
      throw e;
    }
    // The stream prepares its own communicator's record once it holds the device.
    if (data.streams) grantStream(device, data.streams[local]!);
    return { rank, value: prepared.prepared.record };
  }
  if (task.type === 'finish' || task.type === 'abandon') {
    roundBarrier(task.round, 2);
    const p = prepared ?? fail('no prepared rank in this worker');
    prepared = undefined;
    if (task.type === 'abandon') {
      p.prepared.abandon(task.reason);
      p.device.close();
      return { rank: p.rank, value: null };
    }
    let comm: Communicator;
    let stream: CommStream | undefined;
    try {
      comm = p.prepared.finish(task.directory);
      stream = data.streams ? awaitStream(data.streams[p.local]!, p.rank) : undefined;
    } catch (e) {
      p.device.close();
      throw e;
    }
    state = { rank: p.rank, local: p.local, device: p.device, comm, stream };
    return { rank: p.rank, value: null };
  }
  const { rank, local, device, comm, stream } = current();
  // Every rank's previous task has ended and freed its memory: let go of
  // registrations and imports of freed buffers before anyone allocates.
  comm.sweep();
  roundBarrier(task.round, 2);
  if (task.type === 'health') return { rank, value: !comm.asyncError() };
  if (task.type === 'close') {
    // A rank may be broken. The memory model keeps each scratch alive
    // until the last peer unmaps it, and the last rank out frees the block.
    // The stream first: it runs on this device's memory and leaves before the device closes.
    stream?.stop();
    const healthy = !comm.asyncError();
    if (!comm.isDestroyed) comm.destroy();
    device.close();
    state = undefined;
    return { rank, value: healthy };
  }
  // The launched module is the user's code: it runs as long as it runs (no
  // deadline, as a kernel launch has none); every call it makes has its own.
  const url = moduleHref(task.module);
  const ctx = new DeviceContext(rank, comm.size, comm, device, pool, task.args, stream, local);
  // The World's watchdog reads this: a rank still busy long after a peer failed is stopped.
  Atomics.store(busy, local, 1);
  try {
    const mod = (await import(url)) as { default?: SpmdFunction };
    if (typeof mod.default !== 'function') throw new TransportError('EINVAL', `${task.module} must export a default function (ctx) => result`);
    return { rank, value: await mod.default(ctx) };
  } catch (e) {
    // Peers blocked on this rank fail now instead of at their deadline; it
    // returns once none of them can still touch this rank's memory.
    if (!comm.asyncError()) comm.abort();
    throw e;
  } finally {
    Atomics.store(busy, local, 0);
    ctx.release();
    // This thread idles until its next task: what its peers wait for goes now.
    if (!comm.isDestroyed) comm.quiesce();
  }
}
