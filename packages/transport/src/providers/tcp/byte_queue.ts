/**
 * Bytes received on one socket and not yet consumed: the buffers Node
 * handed over, kept as they are (no copy) until the message they belong
 * to is due.
 */
export class ByteQueue {
  private readonly chunks: Buffer[] = [];
  /** consumed bytes of chunks[0] */
  private head = 0;
  length = 0;

  push(b: Buffer): void {
    if (b.length === 0) return;
    this.chunks.push(b);
    this.length += b.length;
  }

  /** Copies out exactly `n` bytes (n <= length): used for headers, which may straddle chunks. */
  read(n: number): Buffer {
    const first = this.chunks[0]!;
    if (first.length - this.head >= n) {
      const out = first.subarray(this.head, this.head + n);
      this.skip(n);
      return out;
    }
    const out = Buffer.allocUnsafe(n);
    let at = 0;
    while (at < n) {
      const piece = this.take(n - at);
      out.set(piece, at);
      at += piece.length;
    }
    return out;
  }

  /** Up to `max` bytes from the front, as a view of a received buffer (no copy). */
  take(max: number): Buffer {
    const first = this.chunks[0]!;
    const n = Math.min(max, first.length - this.head);
    const out = first.subarray(this.head, this.head + n);
    this.skip(n);
    return out;
  }

  private skip(n: number): void {
    this.head += n;
    this.length -= n;
    if (this.head === this.chunks[0]!.length) {
      this.chunks.shift();
      this.head = 0;
    }
  }

  clear(): void {
    this.chunks.length = 0;
    this.head = 0;
    this.length = 0;
  }
}
