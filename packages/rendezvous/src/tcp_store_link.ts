import { type Socket, connect } from 'node:net';
import { StoreError } from './store.js';
import { ByteQueue } from './tcp_store_input.js';

/** 'b32': 32 raw bytes (a nonce or a proof of the AUTH exchange) */
export type ReplyKind = 'u8' | 'u32' | 'i64' | 'bytes' | 'b32';
type Reply<K extends ReplyKind> = K extends 'bytes' | 'b32' ? Buffer : K extends 'i64' ? bigint : number;

const FIXED: Record<Exclude<ReplyKind, 'bytes'>, number> = { u8: 1, u32: 4, i64: 8, b32: 32 };

interface Pending {
  kind: ReplyKind;
  resolve(v: unknown): void;
  reject(e: Error): void;
}

/** Largest reply a client accepts, so a stranger on the port cannot make it buffer gigabytes. */
const MAX_REPLY_BYTES = 1 << 30;

/** One connection of a TCPStore client: writes queries, reads replies in order. */
export class Link {
  private readonly input = new ByteQueue();
  private readonly queue: Pending[] = [];
  /** the length of a 'bytes' reply whose body is still coming */
  private bodyLength: number | undefined;
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
    const q = this.input;
    while (this.queue.length > 0) {
      const head = this.queue[0] as Pending;
      let value: unknown;
      if (head.kind === 'bytes') {
        if (this.bodyLength === undefined) {
          if (q.length < 8) return;
          const n = q.u64();
          if (n > BigInt(MAX_REPLY_BYTES)) {
            this.destroy(new StoreError('EIO', `the TCPStore at ${this.address} sent a reply that is not valid: reply length of ${n} exceeds the limit of ${MAX_REPLY_BYTES}`));
            return;
          }
          this.bodyLength = Number(n);
        }
        if (q.length < this.bodyLength) return;
        value = q.take(this.bodyLength);
        this.bodyLength = undefined;
      } else {
        if (q.length < FIXED[head.kind]) return;
        if (head.kind === 'u8') value = q.u8();
        else if (head.kind === 'u32') value = q.u32();
        else if (head.kind === 'i64') value = q.i64();
        else value = q.take(32);
      }
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
