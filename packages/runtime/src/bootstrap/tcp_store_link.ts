import { type Socket, connect } from 'node:net';
import { StoreError } from './store.js';
import { Cursor, Incomplete, InputBuffer, ProtocolError } from './tcp_store_codec.js';

export type ReplyKind = 'u8' | 'u32' | 'i64' | 'bytes';
type Reply<K extends ReplyKind> = K extends 'bytes' ? Buffer : K extends 'i64' ? bigint : number;

interface Pending {
  kind: ReplyKind;
  resolve(v: unknown): void;
  reject(e: Error): void;
}

/** Largest reply a client accepts, so a stranger on the port cannot make it buffer gigabytes. */
const MAX_REPLY_BYTES = 1 << 30;

/** One connection of a TCPStore client: writes queries, reads replies in order. */
export class Link {
  private readonly input = new InputBuffer();
  private readonly queue: Pending[] = [];
  private failure: Error | undefined;

  private constructor(
    private readonly socket: Socket,
    readonly address: string,
  ) {
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 30_000);
    socket.on('data', (chunk: Buffer) => {
      this.input.push(chunk);
      this.deliver();
    });
    socket.on('error', (e) => this.fail(new StoreError('ENOTCONN', `the connection to the TCPStore at ${address} failed: ${(e as NodeJS.ErrnoException).code ?? e.message}`)));
    socket.on('close', () => this.fail(new StoreError('ENOTCONN', `the TCPStore at ${address} closed the connection`)));
  }

  /** One connection attempt; rejects with the socket's error code. */
  static open(host: string, port: number, timeoutMs: number): Promise<Link> {
    const address = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
    return new Promise((resolve, reject) => {
      const socket = connect({ host, port });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(Object.assign(new Error('connect timed out'), { code: 'ETIMEDOUT' }));
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(new Link(socket, address));
      });
      socket.once('error', (e) => {
        clearTimeout(timer);
        socket.destroy();
        reject(e);
      });
    });
  }

  get alive(): boolean {
    return this.failure === undefined;
  }

  send(frame: Buffer): void {
    if (this.failure) throw this.failure;
    this.socket.write(frame);
  }

  read<K extends ReplyKind>(kind: K): Promise<Reply<K>> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.queue.push({ kind, resolve: resolve as (v: unknown) => void, reject });
      this.deliver();
    });
  }

  destroy(reason: Error): void {
    this.fail(reason);
    this.socket.destroy();
  }

  private deliver(): void {
    while (this.queue.length > 0 && this.input.length > 0) {
      const head = this.queue[0] as Pending;
      const c = new Cursor(this.input.contiguous());
      let value: unknown;
      try {
        if (head.kind === 'u8') value = c.u8();
        else if (head.kind === 'u32') value = c.u32();
        else if (head.kind === 'i64') value = c.i64();
        else value = c.bytes(MAX_REPLY_BYTES, 'reply length');
      } catch (e) {
        if (e instanceof Incomplete) return;
        const why = e instanceof ProtocolError ? e.message : String(e);
        this.destroy(new StoreError('EIO', `the TCPStore at ${this.address} sent a reply that is not valid: ${why}`));
        return;
      }
      this.input.consume(c.offset);
      this.queue.shift();
      head.resolve(value);
    }
  }

  private fail(e: Error): void {
    if (this.failure) return;
    this.failure = e;
    for (const p of this.queue.splice(0)) p.reject(e);
  }
}
