// A device's communication stream: a thread that shares the pool, opens
// the device with its owner's grant, joins the streams' communicator and
// runs the device thread's calls in issue order until told to stop.
import { nextParentMessage, postToParent, threadData } from '@collective/transport/runtime';
import { Device, Pool, type PoolDescriptor, type TransportError } from '@collective/transport';
import type { PeerRecord } from '../comm_base/peer_record.js';
import { type CommId, Communicator, type CommOptions } from '../communicator.js';
import { S, StreamBlock } from './stream_block.js';
import { StreamRunner } from './stream_runner.js';

export interface StreamWorkerData {
  pool: PoolDescriptor;
  block: SharedArrayBuffer;
  id: CommId;
  /** this stream's rank in the streams' communicator */
  rank: number;
  options: CommOptions;
  /**
   * A World joined to a job of several processes: the device this stream
   * serves (rank − the process's first rank), and the communicator spans
   * processes, so its record goes to the main thread and the job's
   * directory comes back before it can finish joining.
   */
  joined?: { device: number };
}

/** What a joined stream and the main thread say to each other. */
export type StreamJoinMessage = { record: PeerRecord } | { directory: PeerRecord[] } | { abandon: string };

/** How long the stream waits for its owner to open the device and grant it. */
const GRANT_TIMEOUT_MS = 60_000;

const data = threadData() as StreamWorkerData;
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
    if (left <= 0) throw new Error(`no grant from the owner of device ${data.rank} within ${GRANT_TIMEOUT_MS} ms; the device thread grants its stream when it starts (World.start, World.join), so it did not get that far: see its error`);
    Atomics.wait(w, S.GRANT, 0, Math.min(left, 50));
  }
}

/**
 * The next message from the main thread (a joined stream's directory). No
 * deadline here: World.join holds it. It sends the directory, or on any
 * failure (its own deadline, joinTimeoutMs, included) an abandon, and
 * then terminates this thread.
 */
function nextMessage(): Promise<StreamJoinMessage> {
  return nextParentMessage() as Promise<StreamJoinMessage>;
}

/** Joins the streams' communicator across processes: this rank's record out, every rank's back. */
async function joinAcross(device: Device): Promise<Communicator | undefined> {
  const prepared = Communicator.prepare(device, data.id, data.rank, data.options, 'tcp');
  postToParent({ record: prepared.record } satisfies StreamJoinMessage);
  const m = await nextMessage();
  if ('directory' in m) return prepared.finish(m.directory);
  prepared.abandon('abandon' in m ? m.abandon : 'the join was abandoned');
  return undefined;
}

let device: Device | undefined;
let comm: Communicator | undefined;
try {
  const grant = waitGrant();
  if (grant !== 0) {
    device = Device.openStream(pool, data.joined?.device ?? data.rank, grant);
    comm = data.joined ? await joinAcross(device) : Communicator.init(device, data.id, data.rank, data.options);
    if (!comm) throw new Error('World.join failed before the stream could join');
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
