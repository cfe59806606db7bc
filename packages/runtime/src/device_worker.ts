// The piscina worker behind World: one device and one rank per thread,
// kept across tasks. Every task starts with a barrier, so n tasks submitted
// together run on n distinct workers, one per rank.
import { workerData } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';
import { Device, Pool, type PoolDescriptor, TransportError } from '@collective/transport';
import { type CommId, Communicator, type CommOptions } from './communicator.js';
import { DeviceContext, type SpmdFunction } from './device_context.js';
import type { WorldTask } from './world_task.js';

interface WorkerData {
  pool: PoolDescriptor;
  id: CommId;
  /** [0]: next rank to hand out; [1]: barrier arrivals */
  control: SharedArrayBuffer;
  size: number;
  options: CommOptions;
}

const data = workerData as WorkerData;
const pool = Pool.attach(data.pool);
let state: { rank: number; device: Device; comm: Communicator } | undefined;

function current(): NonNullable<typeof state> {
  if (!state) throw new TransportError('EINVAL', 'device worker has no rank yet: World.start() initialises it');
  return state;
}

const control = new Int32Array(data.control);
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
    if (Date.now() > end) throw new TransportError('ETIMEDOUT', `world round ${round}: only ${v - target + data.size} of ${data.size} device workers arrived`);
    Atomics.wait(control, 1, v, 50);
  }
}

export default async function run(task: WorldTask): Promise<{ rank: number; value: unknown }> {
  roundBarrier(task.round, 1);
  if (task.type === 'init') {
    const rank = Atomics.add(control, 0, 1);
    const device = Device.open(pool, rank);
    state = { rank, device, comm: Communicator.init(device, data.id, rank, data.options) };
    roundBarrier(task.round, 2);
    return { rank, value: rank };
  }
  const { rank, device, comm } = current();
  // Every rank's previous task has ended and freed its memory: let go of
  // registrations and imports of freed buffers before anyone allocates.
  comm.sweep();
  roundBarrier(task.round, 2);
  if (task.type === 'close') {
    // A rank may be broken. The memory model keeps each scratch alive
    // until the last peer unmaps it, and the last rank out frees the block.
    if (!comm.isDestroyed) comm.destroy();
    device.close();
    state = undefined;
    return { rank, value: null };
  }
  const url = task.module.startsWith('file:') ? task.module : pathToFileURL(task.module).href;
  const ctx = new DeviceContext(rank, comm.size, comm, device, pool, task.args);
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
    ctx.release();
  }
}
