// A device's communication stream: a thread that shares the pool, opens
// the device with its owner's grant, joins the streams' communicator and
// runs the device thread's calls in issue order until told to stop.
import { workerData } from 'node:worker_threads';
import { Device, Pool, type PoolDescriptor, type TransportError } from '@collective/transport';
import { type CommId, Communicator, type CommOptions } from '../communicator.js';
import { S, StreamBlock } from './stream_block.js';
import { StreamRunner } from './stream_runner.js';

export interface StreamWorkerData {
  pool: PoolDescriptor;
  block: SharedArrayBuffer;
  id: CommId;
  rank: number;
  options: CommOptions;
}

/** How long the stream waits for its owner to open the device and grant it. */
const GRANT_TIMEOUT_MS = 60_000;

const data = workerData as StreamWorkerData;
const block = new StreamBlock(data.block);
const w = block.words;
const pool = Pool.attach(data.pool);

function waitGrant(): number {
  const end = performance.now() + GRANT_TIMEOUT_MS;
  for (;;) {
    const g = Atomics.load(w, S.GRANT);
    if (g !== 0) return g;
    if (Atomics.load(w, S.STOP) !== 0) return 0;
    const left = end - performance.now();
    if (left <= 0) throw new Error(`no grant from the owner of device ${data.rank} within ${GRANT_TIMEOUT_MS} ms`);
    Atomics.wait(w, S.GRANT, 0, Math.min(left, 50));
  }
}

let device: Device | undefined;
let comm: Communicator | undefined;
try {
  const grant = waitGrant();
  if (grant !== 0) {
    device = Device.openStream(pool, data.rank, grant);
    comm = Communicator.init(device, data.id, data.rank, data.options);
    Atomics.store(w, S.READY, 1);
    Atomics.notify(w, S.READY);
    new StreamRunner(block, comm, pool).run();
  }
} catch (e) {
  // Nothing more will finish: waiters must learn it now, with the reason.
  const err = e as TransportError;
  block.setAsyncError(err.code ?? 'EIO', `the communication stream of rank ${data.rank} failed: ${String(err.message ?? err).replace(/^[A-Z]+: /, '')}`);
  Atomics.store(w, S.DEAD, 1);
  Atomics.notify(w, S.DONE);
  Atomics.notify(w, S.READY);
} finally {
  try {
    if (comm && !comm.isDestroyed) comm.destroy();
  } catch {
    // A broken communicator still gives its memory back through the last rank out.
  }
  device?.close();
  Atomics.store(w, S.STOPPED, 1);
  Atomics.notify(w, S.STOPPED);
}
