import { fail } from './errors.js';
import { Header } from './control_layout.js';
import { isThreadDeadIn, SELF } from './thread_liveness.js';

/**
 * The pool's futex mutex. The lock word holds the holder's thread id + 1,
 * so a waiter can tell a slow holder from a dead one: only a thread the
 * pool was told has died (thread_liveness.ts) loses the lock, never a live
 * one, however long it holds it.
 */
const SPIN = 200;
const SLEEP_MS = 20;

/**
 * How long a thread waits for the lock while its holder is alive. A holder
 * is only ever inside a short critical section (table updates, scrubbing
 * freed pages, a moved buffer's copy: well under a second even for a whole
 * pool) and never waits inside one, so a live holder that keeps the lock
 * this long is stuck (blocked or spinning while holding it): waiting on
 * would only hang this thread with it. A dead holder's lock is recovered
 * at once instead (thread_liveness.ts).
 */
export const LOCK_WAIT_MS = 10_000;

export function acquire(ctl: Int32Array): void {
  for (let i = 0; i < SPIN; i++) {
    if (Atomics.compareExchange(ctl, Header.LOCK, 0, SELF) === 0) return;
  }
  Atomics.add(ctl, Header.LOCK_WAITERS, 1);
  try {
    const end = performance.now() + LOCK_WAIT_MS;
    for (;;) {
      const owner = Atomics.compareExchange(ctl, Header.LOCK, 0, SELF);
      if (owner === 0) return;
      if (owner === SELF) fail('EINVAL', 'the pool lock is already held by this thread (a nested locked section)');
      if (isThreadDeadIn(ctl, owner)) {
        if (Atomics.compareExchange(ctl, Header.LOCK, owner, SELF) === owner) {
          Atomics.add(ctl, Header.LOCK_RECOVERIES, 1);
          return;
        }
        continue;
      }
      const left = end - performance.now();
      if (left <= 0) {
        fail(
          'ETIMEDOUT',
          `thread ${SELF - 1} did not get the pool lock within ${LOCK_WAIT_MS} ms: thread ${owner - 1} holds it and is alive. ` +
            `A holder only runs short critical sections, so thread ${owner - 1} is stuck inside one (blocked or spinning while holding the lock); ` +
            `find what it waits for, or end it (worker.terminate(): the lock of a thread the pool knows is dead is handed back)`,
        );
      }
      Atomics.wait(ctl, Header.LOCK, owner, Math.min(left, SLEEP_MS));
    }
  } finally {
    Atomics.sub(ctl, Header.LOCK_WAITERS, 1);
  }
}

export function release(ctl: Int32Array): void {
  Atomics.store(ctl, Header.LOCK, 0);
  if (Atomics.load(ctl, Header.LOCK_WAITERS) > 0) Atomics.notify(ctl, Header.LOCK, 1);
}

export function withLock<T>(ctl: Int32Array, fn: () => T): T {
  acquire(ctl);
  try {
    return fn();
  } finally {
    release(ctl);
  }
}
