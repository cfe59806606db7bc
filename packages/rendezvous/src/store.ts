import { RendezvousError, type RendezvousErrorCode } from './errors.js';

/** What a store accepts as a value; strings travel as UTF-8. */
export type StoreValue = string | Uint8Array;

/**
 * A key/value rendezvous store, the contract of torch's c10d::Store and Gloo's
 * rendezvous::Store. Every call that can block has a deadline: `timeoutMs`
 * when given, else the store's own `timeoutMs`.
 */
export interface Store {
  /** default deadline, in milliseconds, of get and wait */
  readonly timeoutMs: number;
  set(key: string, value: StoreValue): Promise<void>;
  /** waits until the key exists, then returns its value */
  get(key: string, timeoutMs?: number): Promise<Uint8Array>;
  /** adds `delta` to the decimal integer stored at `key` (0 when absent) and returns the sum */
  add(key: string, delta: number): Promise<number>;
  /**
   * Sets `desired` when the current value equals `expected` (an empty `expected`
   * matches an absent key) and returns the value now stored; torch's semantics,
   * including its quirk: an absent key with a non-empty `expected` returns `expected`.
   */
  compareSet(key: string, expected: StoreValue, desired: StoreValue): Promise<Uint8Array>;
  /** resolves once every key exists; fails with ETIMEDOUT naming the missing ones */
  wait(keys: readonly string[], timeoutMs?: number): Promise<void>;
  /** true when every key exists, without waiting */
  check(keys: readonly string[]): Promise<boolean>;
  /** true when the key existed */
  deleteKey(key: string): Promise<boolean>;
  /** keys in the whole store (a PrefixStore counts its base's keys, as torch's does) */
  numKeys(): Promise<number>;
  close(): Promise<void>;
}

/** A store failure; `keys` names the keys involved (for a timeout: the missing ones). */
export class StoreError extends RendezvousError {
  readonly keys: readonly string[];

  constructor(code: RendezvousErrorCode, message: string, keys: readonly string[] = []) {
    super(code, message);
    this.name = 'StoreError';
    this.keys = keys;
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function toBytes(value: StoreValue): Uint8Array {
  if (typeof value === 'string') return encoder.encode(value);
  if (value instanceof Uint8Array) return value;
  throw new StoreError('EINVAL', `a store value must be a string or a Uint8Array (got ${typeof value})`);
}

/** The UTF-8 text of a stored value. */
export function valueToString(value: Uint8Array): string {
  return decoder.decode(value);
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function checkKey(key: unknown, what = 'key'): string {
  if (typeof key !== 'string') throw new StoreError('EINVAL', `${what} must be a string (got ${typeof key})`);
  return key;
}

export function checkKeys(keys: unknown): readonly string[] {
  if (!Array.isArray(keys)) throw new StoreError('EINVAL', `keys must be an array of strings (got ${typeof keys})`);
  keys.forEach((k, i) => checkKey(k, `keys[${i}]`));
  return keys as string[];
}

export function checkDelta(delta: unknown): number {
  if (typeof delta !== 'number' || !Number.isSafeInteger(delta)) {
    throw new StoreError('EINVAL', `delta must be a safe integer (got ${String(delta)})`);
  }
  return delta;
}

export function checkTimeout(timeoutMs: unknown, what = 'timeoutMs'): number {
  if (typeof timeoutMs !== 'number' || !(timeoutMs > 0) || !Number.isFinite(timeoutMs)) {
    throw new StoreError('EINVAL', `${what} must be a positive number of milliseconds (got ${String(timeoutMs)})`);
  }
  return timeoutMs;
}

/**
 * Parses a stored counter the way torch's server does (a decimal integer);
 * anything else is an error that names the key.
 */
export function parseCounter(key: string, value: Uint8Array | undefined): bigint {
  if (value === undefined || value.length === 0) return 0n;
  const text = valueToString(value).trim();
  if (!/^[+-]?\d+$/.test(text)) throw new StoreError('EINVAL', `add('${key}'): the stored value is not an integer (got ${JSON.stringify(text.slice(0, 40))})`);
  return BigInt(text);
}

export function counterResult(key: string, sum: bigint): number {
  if (sum > BigInt(Number.MAX_SAFE_INTEGER) || sum < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw new StoreError('EINVAL', `add('${key}'): the sum ${sum} is outside the safe integer range`);
  }
  return Number(sum);
}

export const DEFAULT_STORE_TIMEOUT_MS = 300_000;

export const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export function describeKeys(keys: readonly string[], limit = 8): string {
  const shown = keys.slice(0, limit).map((k) => `'${k}'`).join(', ');
  return keys.length > limit ? `${shown} and ${keys.length - limit} more` : shown;
}
