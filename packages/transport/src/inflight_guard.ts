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

export function drainInflight(ctl: Int32Array, index: number): void {
  for (;;) {
    const n = Atomics.load(ctl, index);
    if (n === 0) return;
    Atomics.wait(ctl, index, n, 10);
  }
}
