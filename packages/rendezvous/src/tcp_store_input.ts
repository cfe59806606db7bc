/**
 * Bytes received and not yet read, kept as the chunks they came in. Reads
 * move forward and never look back: a parser that keeps its own state between
 * arrivals reads every byte once, and a value is copied once, out of the
 * chunks into its own buffer, when all of it is here.
 */
export class ByteQueue {
  private chunks: Buffer[] = [];
  /** index in `chunks` of the first chunk with unread bytes */
  private head = 0;
  /** read position inside chunks[head] */
  private offset = 0;
  private available = 0;
  private readonly scratch = Buffer.allocUnsafe(8);
  /** where the last fixed() read starts in the buffer it returned */
  private at = 0;
  /** bytes read so far; the position frames are measured from */
  consumed = 0;
  /** bytes a reader has looked at or copied: the work parsing costs, for tests and stats */
  examined = 0;

  get length(): number {
    return this.available;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.available += chunk.length;
  }

  /** the next byte, left unread */
  peekU8(): number {
    this.require(1);
    this.examined += 1;
    return (this.chunks[this.head] as Buffer)[this.offset] as number;
  }

  /** a copy of the next n bytes, left unread */
  peek(n: number): Buffer {
    this.require(n);
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    for (let i = this.head, at = this.offset; filled < n; i++, at = 0) {
      const chunk = this.chunks[i] as Buffer;
      filled += chunk.copy(out, filled, at, Math.min(chunk.length, at + n - filled));
    }
    this.examined += n;
    return out;
  }

  u8(): number {
    return this.fixed(1).readUInt8(this.at);
  }

  u32(): number {
    return this.fixed(4).readUInt32LE(this.at);
  }

  u64(): bigint {
    return this.fixed(8).readBigUInt64LE(this.at);
  }

  i64(): bigint {
    return this.fixed(8).readBigInt64LE(this.at);
  }

  /** the next n bytes in a buffer of their own (the chunks are dropped once read) */
  take(n: number): Buffer {
    this.require(n);
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const chunk = this.chunks[this.head] as Buffer;
      const part = Math.min(n - filled, chunk.length - this.offset);
      chunk.copy(out, filled, this.offset, this.offset + part);
      filled += part;
      this.advance(part);
    }
    this.examined += n;
    return out;
  }

  /** the next n bytes as latin1: one char per byte, so any key round-trips exactly */
  latin1(n: number): string {
    const chunk = this.chunks[this.head];
    if (chunk !== undefined && chunk.length - this.offset >= n) {
      this.require(n);
      const s = chunk.toString('latin1', this.offset, this.offset + n);
      this.advance(n);
      this.examined += n;
      return s;
    }
    return this.take(n).toString('latin1');
  }

  clear(): void {
    this.chunks = [];
    this.head = 0;
    this.offset = 0;
    this.available = 0;
  }

  /** n ≤ 8 bytes, from the chunk itself when they do not straddle two */
  private fixed(n: number): Buffer {
    this.require(n);
    this.examined += n;
    const chunk = this.chunks[this.head] as Buffer;
    if (chunk.length - this.offset >= n) {
      this.at = this.offset;
      this.advance(n);
      return chunk;
    }
    for (let i = 0; i < n; i++) {
      const c = this.chunks[this.head] as Buffer;
      this.scratch[i] = c[this.offset] as number;
      this.advance(1);
    }
    this.at = 0;
    return this.scratch;
  }

  private require(n: number): void {
    // A parser asks only for what it has seen is here; anything else is a bug in it.
    if (n > this.available) throw new RangeError(`read of ${n} bytes with ${this.available} buffered`);
  }

  private advance(n: number): void {
    this.offset += n;
    this.available -= n;
    this.consumed += n;
    while (this.head < this.chunks.length && this.offset >= (this.chunks[this.head] as Buffer).length) {
      this.offset -= (this.chunks[this.head] as Buffer).length;
      this.chunks[this.head] = EMPTY;
      this.head++;
    }
    if (this.head === this.chunks.length) {
      this.chunks = [];
      this.head = 0;
    } else if (this.head > 64 && this.head * 2 > this.chunks.length) {
      this.chunks = this.chunks.slice(this.head);
      this.head = 0;
    }
  }
}

const EMPTY = Buffer.alloc(0);
