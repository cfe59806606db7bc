import { type AddressInfo, type Server, type Socket, createServer } from 'node:net';
import { StoreError } from './store.js';
import {
  CHECK_NOT_READY,
  CHECK_READY,
  Cursor,
  FrameWriter,
  Incomplete,
  InputBuffer,
  ProtocolError,
  SERVER_PROBE_KEY,
  type StoreDialect,
  VALIDATION_MAGIC,
  WAIT_CANCELED,
  WAIT_STOP_WAITING,
} from './tcp_store_codec.js';
import { type RequestLimits, type StoreRequest, isMagic, parseRequest } from './tcp_store_request.js';

export interface TCPStoreServerOptions {
  /** address to listen on; default: every interface */
  host?: string;
  /** port to listen on; 0 (the default) picks a free one */
  port?: number;
  /** longest key accepted; default 64 KiB */
  maxKeyBytes?: number;
  /** longest value accepted; default 64 MiB */
  maxValueBytes?: number;
  /** most keys in one CHECK, WAIT, MULTI_GET or MULTI_SET; default 65536 */
  maxKeysPerQuery?: number;
  /** most bytes one query may span; default 2 × maxValueBytes + 1 MiB */
  maxFrameBytes?: number;
  /** most open connections; default 4096 */
  maxConnections?: number;
  /** called with the reason whenever a connection is dropped for breaking the protocol */
  onDrop?: (reason: string) => void;
}

const PAUSE_AT_OUTPUT_BYTES = 64 << 20;
const I64_MAX = (1n << 63n) - 1n;
const I64_MIN = -(1n << 63n);

interface Waiter {
  conn: Connection;
  missing: Set<string>;
}

class Connection {
  dialect: StoreDialect | undefined;
  readonly input = new InputBuffer();
  need = 1;
  readonly waiters = new Set<Waiter>();

  constructor(readonly socket: Socket) {}

  get remote(): string {
    return `${this.socket.remoteAddress ?? '?'}:${this.socket.remotePort ?? '?'}`;
  }
}

/**
 * A TCPStore server speaking torch's c10d wire protocol. Each connection's
 * dialect is told from its first bytes: VALIDATE + magic means torch ≥ 2.1,
 * anything else is the legacy numbering of torch ≤ 2.0 (Debian's 1.13). A
 * connection that breaks the protocol (a port scan, garbage, a length over a
 * limit) is dropped; the server and the other connections carry on.
 */
export class TCPStoreServer {
  private readonly data = new Map<string, Buffer>();
  private readonly watchers = new Map<string, Set<Waiter>>();
  private readonly conns = new Set<Connection>();
  private readonly limits: RequestLimits;
  private readonly maxFrameBytes: number;
  private readonly onDrop: (reason: string) => void;
  private closed = false;

  private constructor(
    private readonly server: Server,
    options: TCPStoreServerOptions,
  ) {
    const int = (name: keyof TCPStoreServerOptions, fallback: number): number => {
      const v = options[name] ?? fallback;
      if (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0) throw new StoreError('EINVAL', `options.${name} must be a positive integer (got ${String(v)})`);
      return v;
    };
    this.limits = {
      maxKeyBytes: int('maxKeyBytes', 64 << 10),
      maxValueBytes: int('maxValueBytes', 64 << 20),
      maxKeysPerQuery: int('maxKeysPerQuery', 65536),
    };
    this.maxFrameBytes = int('maxFrameBytes', 2 * this.limits.maxValueBytes + (1 << 20));
    server.maxConnections = int('maxConnections', 4096);
    this.onDrop = options.onDrop ?? ((reason) => {
      if (process.env.COLLECTIVE_DEBUG) process.stderr.write(`collective TCPStore server: ${reason}\n`);
    });
  }

  /** Starts listening; fails with EADDRINUSE-like errors that name the address. */
  static async start(options: TCPStoreServerOptions = {}): Promise<TCPStoreServer> {
    const port = options.port ?? 0;
    if (!Number.isSafeInteger(port) || port < 0 || port > 65535) throw new StoreError('EINVAL', `options.port must be an integer from 0 to 65535 (got ${String(port)})`);
    const server = createServer({ noDelay: true });
    const store = new TCPStoreServer(server, options);
    server.on('connection', (socket) => store.accept(socket));
    await new Promise<void>((resolve, reject) => {
      const onError = (e: NodeJS.ErrnoException) => {
        const where = `${options.host ?? '*'}:${port}`;
        const code = e.code === 'EADDRINUSE' ? 'EBUSY' : e.code === 'EACCES' ? 'EACCES' : 'EIO';
        reject(new StoreError(code, `the TCPStore server cannot listen on ${where}: ${e.code ?? e.message}${e.code === 'EADDRINUSE' ? ' (another process holds the port; pick another port)' : ''}`));
      };
      server.once('error', onError);
      const done = () => {
        server.off('error', onError);
        server.on('error', () => {});
        resolve();
      };
      if (options.host === undefined) server.listen(port, done);
      else server.listen(port, options.host, done);
    });
    return store;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  get host(): string {
    return (this.server.address() as AddressInfo).address;
  }

  /** open connections */
  get connectionCount(): number {
    return this.conns.size;
  }

  /** bytes received and not yet parsed, over all connections */
  get bufferedBytes(): number {
    let n = 0;
    for (const c of this.conns) n += c.input.length;
    return n;
  }

  get keyCount(): number {
    return this.data.size;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const stopped = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const c of this.conns) c.socket.destroy();
    await stopped;
  }

  private accept(socket: Socket): void {
    if (this.closed) {
      socket.destroy();
      return;
    }
    const conn = new Connection(socket);
    this.conns.add(conn);
    socket.setKeepAlive(true, 30_000);
    socket.on('data', (chunk: Buffer) => this.receive(conn, chunk));
    socket.on('drain', () => socket.resume());
    socket.on('error', () => {});
    socket.on('close', () => this.forget(conn));
  }

  private forget(conn: Connection): void {
    this.cancelWaits(conn);
    conn.input.clear();
    this.conns.delete(conn);
  }

  private drop(conn: Connection, reason: string): void {
    this.onDrop(`dropped ${conn.remote}: ${reason}`);
    conn.socket.destroy();
    this.forget(conn);
  }

  private receive(conn: Connection, chunk: Buffer): void {
    if (!this.conns.has(conn)) return;
    conn.input.push(chunk);
    while (conn.input.length >= conn.need && this.conns.has(conn)) {
      const buf = conn.input.contiguous();
      if (conn.dialect === undefined) {
        if (buf[0] === 0) {
          // VALIDATE + magic, or a legacy SET whose key length cannot be that large.
          if (buf.length < 5) {
            conn.need = 5;
            break;
          }
          if (isMagic(buf, 1)) {
            conn.dialect = 'v2';
            conn.input.consume(5);
            conn.need = 1;
            continue;
          }
        }
        conn.dialect = 'legacy';
      }
      const cursor = new Cursor(buf);
      let request: StoreRequest;
      try {
        request = parseRequest(cursor, conn.dialect, this.limits);
      } catch (e) {
        if (e instanceof Incomplete) {
          if (e.need > this.maxFrameBytes) this.drop(conn, `a query of ${e.need} bytes exceeds the limit of ${this.maxFrameBytes}`);
          else conn.need = e.need;
          break;
        }
        this.drop(conn, e instanceof ProtocolError ? e.message : `bad query: ${(e as Error).message}`);
        return;
      }
      conn.input.consume(cursor.offset);
      conn.need = 1;
      try {
        this.handle(conn, request);
      } catch (e) {
        this.drop(conn, (e as Error).message);
        return;
      }
    }
  }

  private reply(conn: Connection, frame: Buffer): void {
    if (!conn.socket.write(frame) && conn.socket.writableLength > PAUSE_AT_OUTPUT_BYTES) {
      // A client that does not read its replies stops being read.
      conn.socket.pause();
    }
  }

  private handle(conn: Connection, r: StoreRequest): void {
    switch (r.q) {
      case 'VALIDATE':
        if (r.magic !== VALIDATION_MAGIC) throw new ProtocolError(`VALIDATE with a wrong magic number 0x${r.magic.toString(16)}`);
        return;
      case 'PING':
        this.reply(conn, new FrameWriter().u32(r.nonce).finish());
        return;
      case 'SET':
        this.put(r.key, r.value);
        return;
      case 'APPEND': {
        const old = this.data.get(r.key);
        this.put(r.key, old === undefined ? r.value : Buffer.concat([old, r.value]));
        return;
      }
      case 'MULTI_SET':
        for (const [k, v] of r.entries) this.put(k, v);
        return;
      case 'COMPARE_SET': {
        const current = this.data.get(r.key);
        let result: Buffer;
        if (current === undefined) {
          if (r.expected.length === 0) {
            this.put(r.key, r.desired);
            result = r.desired;
          } else result = r.expected;
        } else if (current.equals(r.expected)) {
          this.put(r.key, r.desired);
          result = r.desired;
        } else result = current;
        this.reply(conn, new FrameWriter().bytes(result).finish());
        return;
      }
      case 'GET': {
        const v = this.data.get(r.key);
        if (v === undefined) throw new ProtocolError(`GET of '${printable(r.key)}', which does not exist (a client waits for a key before getting it)`);
        this.reply(conn, new FrameWriter().bytes(v).finish());
        return;
      }
      case 'MULTI_GET': {
        const w = new FrameWriter();
        for (const k of r.keys) {
          const v = this.data.get(k);
          if (v === undefined) throw new ProtocolError(`MULTI_GET of '${printable(k)}', which does not exist`);
          w.bytes(v);
        }
        this.reply(conn, w.finish());
        return;
      }
      case 'ADD': {
        const old = this.data.get(r.key);
        const text = old === undefined ? '0' : old.toString('latin1');
        if (!/^[+-]?\d+$/.test(text.trim())) throw new ProtocolError(`ADD to '${printable(r.key)}', whose value is not an integer`);
        const sum = BigInt(text.trim()) + r.delta;
        if (sum > I64_MAX || sum < I64_MIN) throw new ProtocolError(`ADD to '${printable(r.key)}' overflows a 64-bit integer`);
        this.put(r.key, Buffer.from(sum.toString(), 'latin1'));
        this.reply(conn, new FrameWriter().i64(sum).finish());
        return;
      }
      case 'CHECK': {
        const ready = (r.keys.length === 1 && r.keys[0] === SERVER_PROBE_KEY) || r.keys.every((k) => this.data.has(k));
        this.reply(conn, new FrameWriter().u8(ready ? CHECK_READY : CHECK_NOT_READY).finish());
        return;
      }
      case 'WAIT': {
        const missing = new Set(r.keys.filter((k) => !this.data.has(k)));
        if (missing.size === 0) {
          this.reply(conn, new FrameWriter().u8(WAIT_STOP_WAITING).finish());
          return;
        }
        const waiter: Waiter = { conn, missing };
        conn.waiters.add(waiter);
        for (const k of missing) {
          let set = this.watchers.get(k);
          if (set === undefined) this.watchers.set(k, (set = new Set()));
          set.add(waiter);
        }
        return;
      }
      case 'CANCEL_WAIT':
        this.cancelWaits(conn);
        this.reply(conn, new FrameWriter().u8(WAIT_CANCELED).finish());
        return;
      case 'GETNUMKEYS':
        this.reply(conn, new FrameWriter().i64(this.data.size).finish());
        return;
      case 'DELETE_KEY':
        this.reply(conn, new FrameWriter().i64(this.data.delete(r.key) ? 1 : 0).finish());
        return;
    }
  }

  private put(key: string, value: Buffer): void {
    this.data.set(key, value);
    const waiting = this.watchers.get(key);
    if (waiting === undefined) return;
    this.watchers.delete(key);
    for (const w of waiting) {
      w.missing.delete(key);
      if (w.missing.size === 0 && w.conn.waiters.delete(w)) this.reply(w.conn, new FrameWriter().u8(WAIT_STOP_WAITING).finish());
    }
  }

  private cancelWaits(conn: Connection): void {
    for (const w of conn.waiters) {
      for (const k of w.missing) {
        const set = this.watchers.get(k);
        set?.delete(w);
        if (set?.size === 0) this.watchers.delete(k);
      }
    }
    conn.waiters.clear();
  }
}

const printable = (key: string): string => key.replace(/[^\x20-\x7e]/g, (ch) => `\\x${ch.charCodeAt(0).toString(16).padStart(2, '0')}`).slice(0, 200);
