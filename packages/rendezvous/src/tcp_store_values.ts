import { ProtocolError } from './tcp_store_codec.js';

/** A request refused because it would take the store past one of its limits. */
export class LimitError extends ProtocolError {}

export interface ValueLimits {
  maxKeys: number;
  maxStoredBytes: number;
  maxValueBytes: number;
}

interface Slot {
  /** capacity ≥ len: an APPENDed value grows into spare room, doubling when it runs out */
  buf: Buffer;
  len: number;
}

/**
 * The server's keys and values, within maxKeys, maxStoredBytes (keys plus
 * values) and maxValueBytes. APPEND grows a value geometrically, so n appends
 * copy O(final size) bytes in all rather than the whole value each time.
 */
export class ValueTable {
  private readonly slots = new Map<string, Slot>();
  /** bytes of keys and values */
  storedBytes = 0;
  /** bytes of values copied again because an APPEND outgrew their buffer (at most twice the final size) */
  appendCopiedBytes = 0;

  constructor(private readonly limits: ValueLimits) {}

  get size(): number {
    return this.slots.size;
  }

  has(key: string): boolean {
    return this.slots.has(key);
  }

  /** the value, valid until the key is next written: a caller that keeps it copies it */
  get(key: string): Buffer | undefined {
    const s = this.slots.get(key);
    return s === undefined ? undefined : s.buf.subarray(0, s.len);
  }

  /** stores `value` itself (the caller hands it over) */
  set(key: string, value: Buffer): void {
    const old = this.slots.get(key);
    this.admit(key, old, value.length);
    this.storedBytes += old === undefined ? key.length + value.length : value.length - old.len;
    this.slots.set(key, { buf: value, len: value.length });
  }

  append(key: string, more: Buffer): void {
    const s = this.slots.get(key);
    if (s === undefined) {
      this.set(key, more);
      return;
    }
    const len = s.len + more.length;
    this.admit(key, s, len);
    if (len > s.buf.length) {
      const grown = Buffer.alloc(Math.min(Math.max(len, 2 * s.buf.length, 64), this.limits.maxValueBytes));
      s.buf.copy(grown, 0, 0, s.len);
      this.appendCopiedBytes += s.len;
      s.buf = grown;
    }
    more.copy(s.buf, s.len);
    s.len = len;
    this.storedBytes += more.length;
  }

  delete(key: string): boolean {
    const s = this.slots.get(key);
    if (s === undefined) return false;
    this.slots.delete(key);
    this.storedBytes -= key.length + s.len;
    return true;
  }

  private admit(key: string, old: Slot | undefined, len: number): void {
    const { maxKeys, maxStoredBytes, maxValueBytes } = this.limits;
    if (len > maxValueBytes) throw new LimitError(`a value of ${len} bytes for '${printable(key)}' exceeds options.maxValueBytes (${maxValueBytes})`);
    if (old === undefined && this.slots.size >= maxKeys) throw new LimitError(`a new key '${printable(key)}' in a store that holds options.maxKeys (${maxKeys}) keys`);
    const after = this.storedBytes + (old === undefined ? key.length + len : len - old.len);
    if (after > maxStoredBytes) throw new LimitError(`storing '${printable(key)}' would take the store to ${after} bytes, past options.maxStoredBytes (${maxStoredBytes})`);
  }
}

export const printable = (key: string): string => key.replace(/[^\x20-\x7e]/g, (ch) => `\\x${ch.charCodeAt(0).toString(16).padStart(2, '0')}`).slice(0, 200);
