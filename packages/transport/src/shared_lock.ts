/**
 * A futex mutex (0 free, 1 held, 2 held with waiters) on a shared word.
 * Control-plane metadata of the pool is touched by many threads; one lock
 * keeps every transition of the memory model atomic.
 */
const SPIN = 200;

export function acquire(arr: Int32Array, index: number): void {
  for (let i = 0; i < SPIN; i++) {
    if (Atomics.compareExchange(arr, index, 0, 1) === 0) return;
  }
  let c = Atomics.exchange(arr, index, 2);
  while (c !== 0) {
    Atomics.wait(arr, index, 2, 100);
    c = Atomics.exchange(arr, index, 2);
  }
}

export function release(arr: Int32Array, index: number): void {
  if (Atomics.sub(arr, index, 1) !== 1) {
    Atomics.store(arr, index, 0);
    Atomics.notify(arr, index, 1);
  }
}

export function withLock<T>(arr: Int32Array, index: number, fn: () => T): T {
  acquire(arr, index);
  try {
    return fn();
  } finally {
    release(arr, index);
  }
}
