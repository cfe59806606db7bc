/**
 * Spin briefly, then sleep on the futex. Spinning wins when the peer is on
 * another core; sleeping is what keeps more devices than cores from
 * starving each other.
 */
const SPIN_ITERATIONS = 2000;
/**
 * After the first spins, keep polling this long before sleeping: a futex
 * wake-up costs tens to hundreds of µs on a busy machine, far more than a
 * message takes to arrive from a peer that is running.
 */
const SPIN_MS = 1;

/**
 * Waits until `arr[index] !== value` or the deadline passes.
 * Returns false on timeout. `deadline` is a performance.now() timestamp,
 * always the caller's (docs/waits.md lists where each caller's comes from);
 * Infinity only when a caller asked for no deadline.
 * `sleepers`, if given, is a word counting threads asleep on `index`.
 */
export function waitWhileEqual(arr: Int32Array, index: number, value: number, deadline: number, sleepers = -1): boolean {
  for (let i = 0; i < SPIN_ITERATIONS; i++) {
    if (Atomics.load(arr, index) !== value) return true;
  }
  const spinUntil = Math.min(deadline, performance.now() + SPIN_MS);
  while (performance.now() < spinUntil) {
    for (let i = 0; i < 256; i++) if (Atomics.load(arr, index) !== value) return true;
  }
  for (;;) {
    if (Atomics.load(arr, index) !== value) return true;
    const left = deadline - performance.now();
    if (left <= 0) return false;
    // A word that counts sleepers lets the waker skip notify when there are none.
    if (sleepers >= 0) Atomics.add(arr, sleepers, 1);
    Atomics.wait(arr, index, value, Math.min(left, 50));
    if (sleepers >= 0) Atomics.sub(arr, sleepers, 1);
  }
}

export function deadlineAfter(timeoutMs: number): number {
  return timeoutMs === Infinity ? Infinity : performance.now() + timeoutMs;
}
