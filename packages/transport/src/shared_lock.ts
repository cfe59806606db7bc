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

export function acquire(ctl: Int32Array): void {
  for (let i = 0; i < SPIN; i++) {
    if (Atomics.compareExchange(ctl, Header.LOCK, 0, SELF) === 0) return;
  }
  Atomics.add(ctl, Header.LOCK_WAITERS, 1);
  try {
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
      Atomics.wait(ctl, Header.LOCK, owner, SLEEP_MS);
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
