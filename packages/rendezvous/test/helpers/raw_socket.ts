import { type Socket, connect } from 'node:net';

/** A bare TCP client for speaking the store protocol byte by byte. */
export class RawClient {
  private buffered = Buffer.alloc(0);
  private waiter: (() => void) | undefined;
  closed = false;

  private constructor(readonly socket: Socket) {
    socket.on('data', (d: Buffer) => {
      this.buffered = Buffer.concat([this.buffered, d]);
      this.waiter?.();
    });
    socket.on('close', () => {
      this.closed = true;
      this.waiter?.();
    });
    socket.on('error', () => {});
  }

  /** `localAddress`: the address to connect from (any of 127/8 on loopback) */
  static open(port: number, host = '127.0.0.1', localAddress?: string): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = connect({ port, host, ...(localAddress !== undefined && { localAddress }) }, () => resolve(new RawClient(s)));
      s.once('error', reject);
    });
  }

  send(hex: string | Buffer): void {
    this.socket.write(typeof hex === 'string' ? Buffer.from(hex.replace(/\s+/g, ''), 'hex') : hex);
  }

  /** The next n bytes as hex; fails after timeoutMs or when the peer closes first. */
  async read(n: number, timeoutMs = 3_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (this.buffered.length < n) {
      if (this.closed) throw new Error(`connection closed after ${this.buffered.length} of ${n} bytes`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`only ${this.buffered.length} of ${n} bytes within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
    const out = this.buffered.subarray(0, n).toString('hex');
    this.buffered = this.buffered.subarray(n);
    return out;
  }

  /** Resolves true once the peer has closed the connection, false after timeoutMs. */
  async closedWithin(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    return this.closed;
  }

  end(): void {
    this.socket.destroy();
  }
}

/** u64 little-endian length + bytes, as the protocol frames strings. */
export const str = (s: string | Buffer): string => {
  const b = typeof s === 'string' ? Buffer.from(s) : s;
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(b.length));
  return len.toString('hex') + b.toString('hex');
};
export const u64 = (n: number | bigint): string => {
  const b = Buffer.alloc(8);
  b.writeBigInt64LE(BigInt(n));
  return b.toString('hex');
};
export const u8 = (n: number): string => n.toString(16).padStart(2, '0');
export const u32 = (n: number): string => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b.toString('hex');
};
