import { currentThreadId, onThreadStart } from './platform.js';
import { Header } from './control_layout.js';

/**
 * Which threads of the process have died, as seen by the pool: a ring of
 * thread ids in the control block. Thread ids are never reused within a
 * process (or page), so an id found here names a dead thread for good. A thread
 * cannot report its own death when it is terminated, so whoever started it
 * reports it (Pool.watch does this from the Worker's 'exit' event).
 */

/** This thread's id as stored in owner words: never 0, so 0 can mean "nobody". */
export const SELF = currentThreadId() + 1;

export function markThreadDeadIn(ctl: Int32Array, owner: number): void {
  if (isThreadDeadIn(ctl, owner)) return;
  const i = Atomics.add(ctl, Header.DEAD_COUNT, 1) % Header.DEAD_RING_SIZE;
  Atomics.store(ctl, Header.DEAD_RING + i, owner);
  // A lock its holder will never release is handed back now.
  if (Atomics.compareExchange(ctl, Header.LOCK, owner, 0) === owner) {
    Atomics.add(ctl, Header.LOCK_RECOVERIES, 1);
    Atomics.notify(ctl, Header.LOCK);
  }
}

export function isThreadDeadIn(ctl: Int32Array, owner: number): boolean {
  if (owner === 0) return false;
  const n = Math.min(Atomics.load(ctl, Header.DEAD_COUNT), Header.DEAD_RING_SIZE);
  for (let i = 0; i < n; i++) if (Atomics.load(ctl, Header.DEAD_RING + i) === owner) return true;
  return false;
}

/** A Node Worker, or a thread of platform.ts's startThread(). */
export interface WatchedThread {
  readonly threadId: number;
  once(event: 'exit', listener: () => void): unknown;
}

/** Reports `worker`'s death to the pool when it exits, however it exits. */
export function watchWorkerIn(ctl: Int32Array, worker: WatchedThread): void {
  // threadId reads as -1 once the worker has exited; take it now.
  const owner = worker.threadId + 1;
  worker.once('exit', () => markThreadDeadIn(ctl, owner));
}

/** Pools open in this thread (weakly: a dropped pool's memory is not kept alive by this). */
const poolsHere = new Set<WeakRef<Int32Array>>();
let listening = false;

/**
 * Watches every worker this thread starts from now on, for every pool open
 * in this thread: a thread started with a pool's descriptor and then
 * terminated (or crashed) while holding the pool lock, or inside a call,
 * is known dead without the user calling pool.watch().
 */
export function watchNewWorkers(ctl: Int32Array): void {
  poolsHere.add(new WeakRef(ctl));
  if (listening) return;
  listening = true;
  onThreadStart((worker) => {
    for (const ref of poolsHere) {
      const c = ref.deref();
      if (c) watchWorkerIn(c, worker);
      else poolsHere.delete(ref);
    }
  });
}
