/**
 * A reader count that lets a terminal state change (revoke, MR close) wait
 * for copies already past their permission check, without a lock on the
 * data path. Both sides use sequentially consistent atomics: either the
 * copier sees the new state, or the closer sees the copier's count.
 */
export function enterInflight(ctl: Int32Array, index: number): void {
  Atomics.add(ctl, index, 1);
}

export function leaveInflight(ctl: Int32Array, index: number): void {
  if (Atomics.sub(ctl, index, 1) === 1) Atomics.notify(ctl, index);
}

/**
 * How long a drain waits. A guard is held for one system call (a socket
 * read or write of at most a few MiB) or one copy inside the pool (a 2 GiB
 * copy takes well under a second here), never across a wait: a count that
 * does not fall for this long belongs to a thread that died inside its
 * guard (terminated in the middle of a copy), which will not touch the
 * memory again.
 */
export const INFLIGHT_DRAIN_MS = 10_000;

/** Waits until no access is inside the guard; false if one still was at the deadline (its thread is dead, see above). */
export function drainInflight(ctl: Int32Array, index: number, timeoutMs = INFLIGHT_DRAIN_MS): boolean {
  const end = performance.now() + timeoutMs;
  for (;;) {
    const n = Atomics.load(ctl, index);
    if (n === 0) return true;
    const left = end - performance.now();
    if (left <= 0) return false;
    Atomics.wait(ctl, index, n, Math.min(10, left));
  }
}
