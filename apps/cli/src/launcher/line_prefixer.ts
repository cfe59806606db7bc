import { Transform, type TransformCallback } from 'node:stream';

/** A line longer than this is passed on in pieces rather than held whole. */
const MAX_HELD_BYTES = 64 << 10;

/**
 * Prefixes every line passing through and passes on only whole lines, so the
 * lines of workers writing to one terminal never interleave mid-line. A last
 * line without a newline gets one at the end.
 */
export class LinePrefixer extends Transform {
  private held: Buffer[] = [];
  private heldBytes = 0;

  constructor(private readonly prefix: Buffer) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    const out: Buffer[] = [];
    let start = 0;
    for (let nl = chunk.indexOf(10); nl >= 0; nl = chunk.indexOf(10, start)) {
      out.push(this.prefix, ...this.held, chunk.subarray(start, nl + 1));
      this.held = [];
      this.heldBytes = 0;
      start = nl + 1;
    }
    if (start < chunk.length) {
      this.held.push(chunk.subarray(start));
      this.heldBytes += chunk.length - start;
      if (this.heldBytes > MAX_HELD_BYTES) {
        out.push(this.prefix, ...this.held, Buffer.from('\n'));
        this.held = [];
        this.heldBytes = 0;
      }
    }
    done(null, out.length > 0 ? Buffer.concat(out) : undefined);
  }

  override _flush(done: TransformCallback): void {
    done(null, this.held.length > 0 ? Buffer.concat([this.prefix, ...this.held, Buffer.from('\n')]) : null);
  }
}
