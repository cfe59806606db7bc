import {
  DEFAULT_STORE_TIMEOUT_MS,
  type Store,
  StoreError,
  type StoreValue,
  checkDelta,
  checkKey,
  checkKeys,
  checkTimeout,
  counterResult,
  describeKeys,
  parseCounter,
  sameBytes,
  toBytes,
} from './store.js';

interface Waiter {
  keys: readonly string[];
  wake(): void;
}

/** An in-process store: tests and single-process jobs (Gloo's HashStore). */
export class HashStore implements Store {
  readonly timeoutMs: number;
  private readonly data = new Map<string, Uint8Array>();
  private readonly waiters = new Set<Waiter>();
  private closed = false;

  constructor(options: { timeoutMs?: number } = {}) {
    this.timeoutMs = checkTimeout(options.timeoutMs ?? DEFAULT_STORE_TIMEOUT_MS, 'options.timeoutMs');
  }

  async set(key: string, value: StoreValue): Promise<void> {
    this.open();
    this.put(checkKey(key), toBytes(value));
  }

  async get(key: string, timeoutMs?: number): Promise<Uint8Array> {
    checkKey(key);
    await this.wait([key], timeoutMs);
    const value = this.data.get(key);
    if (value === undefined) throw new StoreError('ENOENT', `get('${key}'): the key was deleted while waiting for it`, [key]);
    return value.slice();
  }

  async add(key: string, delta: number): Promise<number> {
    this.open();
    checkKey(key);
    checkDelta(delta);
    const sum = parseCounter(key, this.data.get(key)) + BigInt(delta);
    const result = counterResult(key, sum);
    this.put(key, new TextEncoder().encode(sum.toString()));
    return result;
  }

  async compareSet(key: string, expected: StoreValue, desired: StoreValue): Promise<Uint8Array> {
    this.open();
    checkKey(key);
    const want = toBytes(expected);
    const next = toBytes(desired);
    const current = this.data.get(key);
    if (current === undefined) {
      if (want.length !== 0) return want.slice();
      this.put(key, next);
      return next.slice();
    }
    if (sameBytes(current, want)) {
      this.put(key, next);
      return next.slice();
    }
    return current.slice();
  }

  wait(keys: readonly string[], timeoutMs?: number): Promise<void> {
    let deadline: number;
    try {
      this.open();
      checkKeys(keys);
      deadline = checkTimeout(timeoutMs ?? this.timeoutMs);
    } catch (e) {
      return Promise.reject(e);
    }
    if (this.has(keys)) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        keys,
        wake: () => {
          clearTimeout(timer);
          this.waiters.delete(waiter);
          if (this.closed) reject(new StoreError('ECANCELED', `wait for ${describeKeys(keys)}: the store was closed`, keys));
          else resolve();
        },
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        const missing = keys.filter((k) => !this.data.has(k));
        reject(new StoreError('ETIMEDOUT', `wait timed out after ${deadline} ms; missing keys: ${describeKeys(missing)}`, missing));
      }, deadline);
      this.waiters.add(waiter);
    });
  }

  async check(keys: readonly string[]): Promise<boolean> {
    this.open();
    return this.has(checkKeys(keys));
  }

  async deleteKey(key: string): Promise<boolean> {
    this.open();
    return this.data.delete(checkKey(key));
  }

  async numKeys(): Promise<number> {
    this.open();
    return this.data.size;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const w of [...this.waiters]) w.wake();
  }

  private put(key: string, value: Uint8Array): void {
    this.data.set(key, value.slice());
    for (const w of [...this.waiters]) if (w.keys.includes(key) && this.has(w.keys)) w.wake();
  }

  private has(keys: readonly string[]): boolean {
    return keys.every((k) => this.data.has(k));
  }

  private open(): void {
    if (this.closed) throw new StoreError('ECANCELED', 'the store is closed');
  }
}
