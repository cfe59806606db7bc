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
  /** [0]: next rank to hand out; [1]: tasks started, for the round barrier */
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
 * Holds a task until all n tasks of its round have started. A worker held
 * here cannot take a second task, so the round lands on n distinct workers
 * whatever the communicator's state.
 */
function joinRound(round: number): void {
  Atomics.add(control, 1, 1);
  const target = round * data.size;
  const end = Date.now() + ROUND_TIMEOUT_MS;
  for (;;) {
    const v = Atomics.load(control, 1);
    if (v >= target) return;
    if (Date.now() > end) throw new TransportError('ETIMEDOUT', `world round ${round}: only ${v - (round - 1) * data.size} of ${data.size} device workers started`);
    Atomics.wait(control, 1, v, 50);
  }
}

export default async function run(task: WorldTask): Promise<{ rank: number; value: unknown }> {
  joinRound(task.round);
  Atomics.notify(control, 1);
  if (task.type === 'init') {
    const rank = Atomics.add(control, 0, 1);
    const device = Device.open(pool, rank);
    state = { rank, device, comm: Communicator.init(device, data.id, rank, data.options) };
    return { rank, value: rank };
  }
  const { rank, device, comm } = current();
  if (task.type === 'close') {
    // No barrier: a rank may be broken. The memory model keeps each scratch
    // alive until the last peer unmaps it, and the last rank out frees the block.
    if (!comm.isDestroyed) comm.destroy();
    device.close();
    state = undefined;
    return { rank, value: null };
  }
  const url = task.module.startsWith('file:') ? task.module : pathToFileURL(task.module).href;
  const mod = (await import(url)) as { default?: SpmdFunction };
  if (typeof mod.default !== 'function') throw new TransportError('EINVAL', `${task.module} must export a default function (ctx) => result`);
  const ctx = new DeviceContext(rank, comm.size, comm, device, pool, task.args);
  try {
    return { rank, value: await mod.default(ctx) };
  } catch (e) {
    // Peers blocked on this rank fail now instead of at their deadline.
    if (!comm.asyncError()) comm.abort();
    throw e;
  } finally {
    ctx.release();
  }
}
