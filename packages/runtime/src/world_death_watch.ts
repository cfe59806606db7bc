import type { Pool } from '@collective/transport';
import { setAborted } from './comm_base/abort_state.js';
import { R, rankBase } from './comm_base/comm_block.js';
import { blockOf, type CommId } from './comm/comm_id.js';
import type { DeviceThreads } from './device_threads.js';
import type { StreamThreads } from './stream/stream_threads.js';

/** What the watch needs of its World. */
export interface WatchedWorld {
  readonly pool: Pool;
  readonly workers: DeviceThreads;
  /** the World's communicator, whose ranks a dead worker held */
  readonly id: CommId;
  readonly size: number;
  readonly rankOffset: number;
  readonly streams: StreamThreads | undefined;
  /** after close() a worker's exit is expected */
  closed(): boolean;
}

/**
 * A worker that dies (a crash, process.exit, terminate) releases what it
 * held in the pool and aborts the communicator, so nobody waits on it:
 * every worker is watched, also those started later.
 */
export function watchDeviceWorkers(w: WatchedWorld): void {
  const watched = new WeakSet<object>();
  const watch = () => {
    for (const t of w.workers.threads) {
      if (watched.has(t)) continue;
      watched.add(t);
      // The id must be read now: an exited Worker reports -1.
      const owner = t.threadId + 1;
      w.pool.watch(t);
      t.once('exit', () => onWorkerDeath(w, owner));
    }
  };
  w.workers.onThreadCreate(watch);
  watch();
}

function onWorkerDeath(w: WatchedWorld, owner: number): void {
  if (w.closed()) return;
  try {
    const words = blockOf(w.pool, w.id);
    for (let q = 0; q < w.size; q++) {
      if (words[rankBase(q) + R.THREAD] === owner) {
        setAborted(words, q, 'EIO', `the device worker of rank ${q} died`);
        w.streams?.lost(q - w.rankOffset, `the device worker of rank ${q} died`);
      }
    }
  } catch {
    // The communicator is already gone.
  }
}
