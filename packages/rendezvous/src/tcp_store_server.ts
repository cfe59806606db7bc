import { type AddressInfo, type Server, type Socket, createServer } from 'node:net';
import { Level, debugLevel } from './debug_log.js';
import { StoreError } from './store.js';
import { AUTH_VERSION, authTag, newNonce, tagMatches } from './tcp_store_auth.js';
import {
  CHECK_NOT_READY,
  CHECK_READY,
  FrameWriter,
  ProtocolError,
  SERVER_PROBE_KEY,
  type StoreDialect,
  VALIDATION_MAGIC,
  WAIT_CANCELED,
  WAIT_STOP_WAITING,
} from './tcp_store_codec.js';
import { ByteQueue } from './tcp_store_input.js';
import { type Opening, type Parse, type StoreRequest, dialectParser, openingParser, proofParser, requestParser } from './tcp_store_request.js';
import { type ServerSettings, type TCPStoreServerOptions, serverSettings } from './tcp_store_server_options.js';
import { LimitError, ValueTable, printable } from './tcp_store_values.js';

export type { TCPStoreServerOptions } from './tcp_store_server_options.js';

/** Counters and levels of one server, for operators and tests. */
export interface TCPStoreServerStats {
  connections: number;
  keys: number;
  /** bytes of keys and values stored */
  storedBytes: number;
  waiters: number;
  /** bytes of queries received and not yet complete */
  inputBytes: number;
  bytesReceived: number;
  /** bytes the query parser looked at or copied: about bytesReceived, however the bytes were cut up */
  bytesParsed: number;
  /** bytes of values copied again because an APPEND outgrew their buffer */
  appendCopiedBytes: number;
  /** connections dropped for breaking the protocol or a limit */
  dropped: number;
  /** connections closed by frameTimeoutMs or idleTimeoutMs */
  timedOut: number;
  /** connections that failed or skipped authentication */
  refused: number;
  /** connections closed at once by maxConnections or maxConnectionsPerAddress */
  turnedAway: number;
  /** connections the operating system could not hand over (EMFILE and the like) */
  acceptErrors: number;
}

/** A client that does not read its replies stops being read past this much unsent output. */
const PAUSE_AT_OUTPUT_BYTES = 1 << 20;
const I64_MAX = (1n << 63n) - 1n;
const EMPTY = Buffer.alloc(0);
const I64_MIN = -(1n << 63n);
/**
 * torch ≤ 2.0's answers on a WATCH_KEY connection (its WatchResponseType):
 * the registration's acknowledgement, then one notice per change of the key.
 */
const KEY_UPDATED = 0;
const KEY_CREATED = 1;
const KEY_DELETED = 2;
const KEY_CALLBACK_REGISTERED = 3;
const KEY_APPENDED = 4;
/** Addresses remembered for log-once notices; past this, notices are only counted. */
const NOTICE_MEMORY = 1024;

interface Waiter {
  conn: Connection;
  missing: Set<string>;
  bytes: number;
}

type Frame = { f: 'opening'; o: Opening | undefined } | { f: 'proof'; tag: Buffer } | { f: 'request'; r: StoreRequest };

class Connection {
  /** opening: first bytes; proof: AUTH hello answered; dialect: authenticated, dialect not yet told; requests */
  phase: 'opening' | 'proof' | 'dialect' | 'requests' = 'opening';
  dialect: StoreDialect = 'legacy';
  readonly input = new ByteQueue();
  parser: Parse<Frame> | undefined;
  /** input.consumed where the frame in progress began */
  frameStart = 0;
  /** when the frame in progress got its first byte; 0: none in progress */
  frameSince = 0;
  readonly since = Date.now();
  /** authenticated, or completed a query: may stay idle from now on */
  settled = false;
  /** bytes counted against maxInputBytes */
  held = 0;
  pausedForOutput = false;
  pausedForInput = false;
  /** unsent output at the last sweep, and since when it has not shrunk */
  lastWritable = 0;
  outputStuckSince = 0;
  clientNonce: Buffer | undefined;
  serverNonce: Buffer | undefined;
  readonly waiters = new Set<Waiter>();
  /** keys this connection registered with WATCH_KEY */
  readonly watching = new Set<string>();

  constructor(
    readonly socket: Socket,
    readonly address: string,
  ) {}

  get remote(): string {
    return `${this.address}:${this.socket.remotePort ?? '?'}`;
  }

  applyPause(): void {
    if (this.pausedForOutput || this.pausedForInput) this.socket.pause();
    else this.socket.resume();
  }
}

/**
 * A TCPStore server speaking torch's c10d wire protocol. Each connection's
 * dialect is told from its first bytes: VALIDATE + magic means torch ≥ 2.1,
 * anything else is the legacy numbering of torch ≤ 2.0 (Debian's 1.13); with
 * a secret, a connection may (with requireAuth: must) open with our AUTH
 * exchange instead. Every resource a peer can make it hold is capped (see
 * TCPStoreServerOptions); a connection that breaks the protocol or a cap is
 * dropped, and the server and the other connections carry on.
 */
export class TCPStoreServer {
  private readonly settings: ServerSettings;
  private readonly values: ValueTable;
  private readonly watchers = new Map<string, Set<Waiter>>();
  /** WATCH_KEY registrations: key → the connections told of its every change */
  private readonly keyWatches = new Map<string, Set<Connection>>();
  private readonly conns = new Set<Connection>();
  private readonly perAddress = new Map<string, number>();
  private readonly noticed = new Set<string>();
  private readonly onDrop: (reason: string) => void;
  private readonly sweeper: NodeJS.Timeout;
  private waiterCount = 0;
  private waitBytes = 0;
  private inputBytes = 0;
  private readonly counts = { bytesReceived: 0, bytesParsedClosed: 0, dropped: 0, timedOut: 0, refused: 0, turnedAway: 0, acceptErrors: 0 };
  private listening = false;
  private closed = false;

  private constructor(
    private readonly server: Server,
    options: TCPStoreServerOptions,
  ) {
    this.settings = serverSettings(options);
    this.values = new ValueTable(this.settings);
    this.onDrop =
      options.onDrop ??
      ((reason) => {
        if (debugLevel() >= Level.INFO) process.stderr.write(`collective TCPStore server: ${reason}\n`);
      });
    const { frameTimeoutMs, idleTimeoutMs } = this.settings;
    this.sweeper = setInterval(() => this.sweep(), Math.max(20, Math.min(1_000, Math.floor(Math.min(frameTimeoutMs, idleTimeoutMs) / 4))));
    this.sweeper.unref();
  }

  /** Starts listening; fails with EADDRINUSE-like errors that name the address. */
  static async start(options: TCPStoreServerOptions = {}): Promise<TCPStoreServer> {
    const port = options.port ?? 0;
    if (!Number.isSafeInteger(port) || port < 0 || port > 65535) throw new StoreError('EINVAL', `options.port must be an integer from 0 to 65535 (got ${String(port)})`);
    const server = createServer({ noDelay: true });
    const store = new TCPStoreServer(server, options);
    server.on('connection', (socket) => store.accept(socket));
    // For the server's whole life: an accept that fails (EMFILE when descriptors
    // run out) is reported here, and without a listener it would end the process.
    server.on('error', (e: NodeJS.ErrnoException) => store.serverError(e));
    try {
      await new Promise<void>((resolve, reject) => {
        const onError = (e: NodeJS.ErrnoException) => {
          const where = `${options.host ?? '*'}:${port}`;
          const code = e.code === 'EADDRINUSE' ? 'EBUSY' : e.code === 'EACCES' ? 'EACCES' : e.code === 'EADDRNOTAVAIL' ? 'EINVAL' : 'EIO';
          reject(new StoreError(code, `the TCPStore server cannot listen on ${where}: ${e.code ?? e.message}${e.code === 'EADDRINUSE' ? ' (another process holds the port; pick another port)' : ''}`));
        };
        server.once('error', onError);
        const done = () => {
          server.off('error', onError);
          resolve();
        };
        if (options.host === undefined) server.listen(port, done);
        else server.listen(port, options.host, done);
      });
    } catch (e) {
      clearInterval(store.sweeper);
      throw e;
    }
    store.listening = true;
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

  /** bytes of queries received and not yet complete, over all connections */
  get bufferedBytes(): number {
    return this.inputBytes;
  }

  get keyCount(): number {
    return this.values.size;
  }

  get stats(): TCPStoreServerStats {
    let parsed = this.counts.bytesParsedClosed;
    for (const c of this.conns) parsed += c.input.examined;
    return {
      connections: this.conns.size,
      keys: this.values.size,
      storedBytes: this.values.storedBytes,
      waiters: this.waiterCount,
      inputBytes: this.inputBytes,
      bytesReceived: this.counts.bytesReceived,
      bytesParsed: parsed,
      appendCopiedBytes: this.values.appendCopiedBytes,
      dropped: this.counts.dropped,
      timedOut: this.counts.timedOut,
      refused: this.counts.refused,
      turnedAway: this.counts.turnedAway,
      acceptErrors: this.counts.acceptErrors,
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.sweeper);
    const stopped = new Promise<void>((resolve) => this.server.close(() => resolve()));
    // close() calls back once no connection is left: every one is destroyed
    // here, so that wait is on local sockets closing, not on any client.
    for (const c of this.conns) c.socket.destroy();
    await stopped;
  }

  private serverError(e: NodeJS.ErrnoException): void {
    if (!this.listening) return;
    this.counts.acceptErrors++;
    const code = e.code ?? e.message;
    this.noticeOnce(`accept ${code}`, `cannot accept a connection: ${code}${code === 'EMFILE' || code === 'ENFILE' ? ' (out of file descriptors)' : ''}; still listening (later accept errors are counted in stats.acceptErrors)`);
  }

  private accept(socket: Socket): void {
    // Before anything else: a reset peer must not become an uncaught 'error'.
    socket.on('error', () => {});
    const raw = socket.remoteAddress;
    if (this.closed || raw === undefined) {
      socket.destroy();
      return;
    }
    const address = raw.startsWith('::ffff:') ? raw.slice(7) : raw;
    const { maxConnections, maxConnectionsPerAddress } = this.settings;
    const fromHere = this.perAddress.get(address) ?? 0;
    const full = this.conns.size >= maxConnections ? `${maxConnections} connections open (options.maxConnections)` : fromHere >= maxConnectionsPerAddress ? `${fromHere} connections open from ${address} (options.maxConnectionsPerAddress)` : undefined;
    if (full !== undefined) {
      this.counts.turnedAway++;
      this.noticeOnce(`full ${address}`, `turned away ${address}: ${full} (further ones from this address are counted in stats.turnedAway)`);
      socket.destroy();
      return;
    }
    const conn = new Connection(socket, address);
    this.conns.add(conn);
    this.perAddress.set(address, fromHere + 1);
    socket.setKeepAlive(true, 30_000);
    socket.on('data', (chunk: Buffer) => this.receive(conn, chunk));
    socket.on('drain', () => {
      if (!conn.pausedForOutput) return;
      conn.pausedForOutput = false;
      conn.applyPause();
      this.pump(conn);
    });
    socket.on('close', () => this.forget(conn));
  }

  private forget(conn: Connection): void {
    if (!this.conns.delete(conn)) return;
    this.cancelWaits(conn);
    this.unwatch(conn);
    this.counts.bytesParsedClosed += conn.input.examined;
    conn.input.clear();
    conn.parser = undefined;
    this.inputBytes -= conn.held;
    conn.held = 0;
    const n = (this.perAddress.get(conn.address) ?? 1) - 1;
    if (n > 0) this.perAddress.set(conn.address, n);
    else this.perAddress.delete(conn.address);
    this.resumeInputIfRoom();
  }

  private drop(conn: Connection, reason: string): void {
    this.counts.dropped++;
    this.onDrop(`dropped ${conn.remote}: ${reason}`);
    conn.socket.destroy();
    this.forget(conn);
  }

  /** A failed or skipped authentication: the peer learns nothing but the close. */
  private refuse(conn: Connection, why: string): void {
    this.counts.refused++;
    this.noticeOnce(`refused ${conn.address}`, `refused ${conn.remote}: ${why} (further refusals from this address are counted in stats.refused)`);
    conn.socket.destroy();
    this.forget(conn);
  }

  private noticeOnce(key: string, text: string): void {
    if (this.noticed.has(key) || this.noticed.size >= NOTICE_MEMORY) return;
    this.noticed.add(key);
    this.onDrop(text);
  }

  private receive(conn: Connection, chunk: Buffer): void {
    if (!this.conns.has(conn)) return;
    this.counts.bytesReceived += chunk.length;
    conn.input.push(chunk);
    this.pump(conn);
  }

  /** Parses and acts on whatever complete frames the connection's input holds. */
  private pump(conn: Connection): void {
    const { maxFrameBytes } = this.settings;
    while (this.conns.has(conn)) {
      if (conn.parser === undefined) {
        if (conn.input.length === 0) break;
        if (conn.socket.writableLength > PAUSE_AT_OUTPUT_BYTES) {
          // Read no more queries until the client has read what it asked for.
          conn.pausedForOutput = true;
          conn.applyPause();
          break;
        }
        conn.parser = this.frame(conn);
        conn.frameStart = conn.input.consumed;
        conn.frameSince = Date.now();
      }
      let step: IteratorResult<number, Frame>;
      try {
        step = conn.parser.next();
      } catch (e) {
        this.drop(conn, e instanceof ProtocolError ? e.message : `bad query: ${(e as Error).message}`);
        return;
      }
      const size = conn.input.consumed - conn.frameStart + (step.done ? 0 : step.value);
      if (size > maxFrameBytes) {
        this.drop(conn, `a query of ${size} bytes exceeds the limit of ${maxFrameBytes}`);
        return;
      }
      if (!step.done) break;
      conn.parser = undefined;
      conn.frameSince = 0;
      try {
        this.act(conn, step.value);
      } catch (e) {
        this.drop(conn, (e as Error).message);
        return;
      }
    }
    if (this.conns.has(conn)) this.account(conn);
  }

  private *frame(conn: Connection): Parse<Frame> {
    const q = conn.input;
    switch (conn.phase) {
      case 'opening':
        return { f: 'opening', o: yield* openingParser(q, this.settings.requireAuth) };
      case 'dialect':
        return { f: 'opening', o: yield* dialectParser(q) };
      case 'proof':
        return { f: 'proof', tag: yield* proofParser(q) };
      case 'requests':
        return { f: 'request', r: yield* requestParser(q, conn.dialect, this.settings) };
    }
  }

  private act(conn: Connection, frame: Frame): void {
    const secret = this.settings.secret;
    if (frame.f === 'request') {
      conn.settled = true;
      this.handle(conn, frame.r);
      return;
    }
    if (frame.f === 'proof') {
      const { clientNonce, serverNonce } = conn;
      if (secret === undefined || clientNonce === undefined || serverNonce === undefined) throw new ProtocolError('an AUTH proof out of turn');
      if (!tagMatches(authTag(secret, 'client', clientNonce, serverNonce), frame.tag)) {
        this.refuse(conn, 'wrong authentication proof (the client has another secret)');
        return;
      }
      conn.settled = true;
      conn.phase = 'dialect';
      this.reply(conn, authTag(secret, 'server', clientNonce, serverNonce));
      return;
    }
    const o = frame.o;
    if (o === undefined) {
      this.refuse(conn, 'the connection did not open with authentication, which this server requires');
      return;
    }
    if (o.kind === 'plain') {
      conn.dialect = o.dialect;
      conn.phase = 'requests';
      return;
    }
    if (secret === undefined) throw new ProtocolError('a client offered authentication, but this server has no secret (start it with options.secret, or connect without one)');
    if (o.version !== AUTH_VERSION) {
      this.refuse(conn, `authentication version ${o.version}, not ${AUTH_VERSION}`);
      return;
    }
    conn.clientNonce = o.nonce;
    conn.serverNonce = newNonce();
    conn.phase = 'proof';
    this.reply(conn, conn.serverNonce);
  }

  /** Counts the connection's incomplete input against maxInputBytes and pauses or resumes readers. */
  private account(conn: Connection): void {
    const held = conn.input.length + (conn.parser === undefined ? 0 : conn.input.consumed - conn.frameStart);
    const shrank = held < conn.held;
    this.inputBytes += held - conn.held;
    conn.held = held;
    if (this.inputBytes > this.settings.maxInputBytes) {
      if (held > 0 && !conn.pausedForInput && conn !== this.oldestFrame()) {
        conn.pausedForInput = true;
        conn.applyPause();
      }
    } else if (shrank) this.resumeInputIfRoom();
  }

  /** The connection whose frame began first keeps being read, so some frame always completes. */
  private oldestFrame(): Connection | undefined {
    let oldest: Connection | undefined;
    for (const c of this.conns) if (c.held > 0 && (oldest === undefined || c.frameSince < oldest.frameSince)) oldest = c;
    return oldest;
  }

  private resumeInputIfRoom(): void {
    if (this.inputBytes > this.settings.maxInputBytes) return;
    for (const c of this.conns) {
      if (!c.pausedForInput) continue;
      c.pausedForInput = false;
      // Time spent paused by us does not count against its frame.
      if (c.frameSince > 0) c.frameSince = Date.now();
      c.applyPause();
    }
  }

  /** Drops connections that hold a frame, or their replies, too long, or never say anything. */
  private sweep(): void {
    const now = Date.now();
    const { frameTimeoutMs, idleTimeoutMs, requireAuth } = this.settings;
    for (const c of this.conns) {
      let why: string | undefined;
      if (c.frameSince > 0 && !c.pausedForInput && now - c.frameSince > frameTimeoutMs) why = `held an incomplete query for over ${frameTimeoutMs} ms (options.frameTimeoutMs)`;
      else if (!c.settled && (requireAuth || c.phase === 'proof') && now - c.since > frameTimeoutMs) why = `did not authenticate within ${frameTimeoutMs} ms (options.frameTimeoutMs)`;
      else if (!c.settled && now - c.since > idleTimeoutMs) why = `sent no complete query within ${idleTimeoutMs} ms of connecting (options.idleTimeoutMs)`;
      else {
        const w = c.socket.writableLength;
        if (w === 0 || w < c.lastWritable) c.outputStuckSince = 0;
        else if (c.outputStuckSince === 0) c.outputStuckSince = now;
        else if (now - c.outputStuckSince > frameTimeoutMs) why = `left ${w} bytes of replies unread for over ${frameTimeoutMs} ms (options.frameTimeoutMs)`;
        c.lastWritable = w;
      }
      if (why === undefined) continue;
      this.counts.timedOut++;
      this.onDrop(`dropped ${c.remote}: ${why}`);
      c.socket.destroy();
      this.forget(c);
    }
  }

  private reply(conn: Connection, frame: Buffer): void {
    conn.socket.write(frame);
  }

  private handle(conn: Connection, r: StoreRequest): void {
    const values = this.values;
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
        const existed = values.has(r.key);
        values.append(r.key, r.value);
        this.woken(r.key);
        // As torch's server: the notice carries the appended bytes, not the whole value.
        this.notify(r.key, existed ? KEY_APPENDED : KEY_CREATED, EMPTY, r.value);
        return;
      }
      case 'MULTI_SET':
        // Entry by entry, as torch does: one past a limit drops the connection, the ones before it stay.
        for (const [k, v] of r.entries) this.put(k, v);
        return;
      case 'COMPARE_SET': {
        const current = values.get(r.key);
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
        const v = values.get(r.key);
        if (v === undefined) throw new ProtocolError(`GET of '${printable(r.key)}', which does not exist (a client waits for a key before getting it)`);
        this.reply(conn, new FrameWriter().bytes(v).finish());
        return;
      }
      case 'MULTI_GET': {
        const found: Buffer[] = [];
        let size = 0;
        for (const k of r.keys) {
          const v = values.get(k);
          if (v === undefined) throw new ProtocolError(`MULTI_GET of '${printable(k)}', which does not exist`);
          size += 8 + v.length;
          // The same large value asked for many times would make a reply of terabytes.
          if (size > this.settings.maxFrameBytes) throw new LimitError(`a MULTI_GET reply of over ${this.settings.maxFrameBytes} bytes (options.maxFrameBytes)`);
          found.push(v);
        }
        const w = new FrameWriter();
        for (const v of found) w.bytes(v);
        this.reply(conn, w.finish());
        return;
      }
      case 'ADD': {
        const old = values.get(r.key);
        const text = old === undefined ? '0' : old.toString('latin1');
        if (!/^[+-]?\d+$/.test(text.trim())) throw new ProtocolError(`ADD to '${printable(r.key)}', whose value is not an integer`);
        const sum = BigInt(text.trim()) + r.delta;
        if (sum > I64_MAX || sum < I64_MIN) throw new ProtocolError(`ADD to '${printable(r.key)}' overflows a 64-bit integer`);
        this.put(r.key, Buffer.from(sum.toString(), 'latin1'));
        this.reply(conn, new FrameWriter().i64(sum).finish());
        return;
      }
      case 'CHECK': {
        const ready = (r.keys.length === 1 && r.keys[0] === SERVER_PROBE_KEY) || r.keys.every((k) => values.has(k));
        this.reply(conn, new FrameWriter().u8(ready ? CHECK_READY : CHECK_NOT_READY).finish());
        return;
      }
      case 'WAIT':
        this.wait(conn, r.keys);
        return;
      case 'CANCEL_WAIT':
        this.cancelWaits(conn);
        this.reply(conn, new FrameWriter().u8(WAIT_CANCELED).finish());
        return;
      case 'GETNUMKEYS':
        this.reply(conn, new FrameWriter().i64(values.size).finish());
        return;
      case 'DELETE_KEY': {
        const old = values.get(r.key);
        const deleted = values.delete(r.key);
        this.reply(conn, new FrameWriter().i64(deleted ? 1 : 0).finish());
        if (old !== undefined) this.notify(r.key, KEY_DELETED, old, EMPTY);
        return;
      }
      case 'WATCH_KEY':
        this.watch(conn, r.key);
        this.reply(conn, new FrameWriter().u8(KEY_CALLBACK_REGISTERED).finish());
        return;
    }
  }

  /**
   * torch ≤ 2.0's watchKey: the client's second ("callback") connection
   * registers a key, and from then on hears of every change to it. A
   * registration holds memory like a pending WAIT and counts against
   * maxWaiters and maxWaitBytes (not maxWaitersPerConnection: torch's client
   * registers all its keys on that one connection).
   */
  private watch(conn: Connection, key: string): void {
    if (conn.watching.has(key)) return;
    const { maxWaiters, maxWaitBytes } = this.settings;
    if (this.waiterCount >= maxWaiters) throw new LimitError(`a WATCH_KEY beyond the ${maxWaiters} WAITs and watches pending in the server (options.maxWaiters)`);
    if (this.waitBytes + key.length > maxWaitBytes) throw new LimitError(`a WATCH_KEY whose ${key.length}-byte key would take pending waits and watches past options.maxWaitBytes (${maxWaitBytes})`);
    this.waiterCount++;
    this.waitBytes += key.length;
    conn.watching.add(key);
    let set = this.keyWatches.get(key);
    if (set === undefined) this.keyWatches.set(key, (set = new Set()));
    set.add(conn);
  }

  private unwatch(conn: Connection): void {
    for (const key of conn.watching) {
      this.waiterCount--;
      this.waitBytes -= key.length;
      const set = this.keyWatches.get(key);
      set?.delete(conn);
      if (set?.size === 0) this.keyWatches.delete(key);
    }
    conn.watching.clear();
  }

  /** Tells the connections watching `key` of a change: type, key, old value, new value. */
  private notify(key: string, type: number, old: Buffer, now: Buffer): void {
    const set = this.keyWatches.get(key);
    if (set === undefined) return;
    const frame = new FrameWriter().u8(type).bytes(Buffer.from(key, 'latin1')).bytes(old).bytes(now).finish();
    // A watcher that stops reading is dropped by the sweep once its unread notices stall (frameTimeoutMs).
    for (const c of set) this.reply(c, frame);
  }

  private wait(conn: Connection, keys: readonly string[]): void {
    const missing = new Set(keys.filter((k) => !this.values.has(k)));
    if (missing.size === 0) {
      this.reply(conn, new FrameWriter().u8(WAIT_STOP_WAITING).finish());
      return;
    }
    const { maxWaitersPerConnection, maxWaiters, maxWaitBytes } = this.settings;
    if (conn.waiters.size >= maxWaitersPerConnection) throw new LimitError(`a WAIT beyond the ${maxWaitersPerConnection} pending on one connection (options.maxWaitersPerConnection)`);
    if (this.waiterCount >= maxWaiters) throw new LimitError(`a WAIT beyond the ${maxWaiters} pending in the server (options.maxWaiters)`);
    let bytes = 0;
    for (const k of missing) bytes += k.length;
    if (this.waitBytes + bytes > maxWaitBytes) throw new LimitError(`a WAIT whose ${bytes} bytes of keys would take pending waits past options.maxWaitBytes (${maxWaitBytes})`);
    const waiter: Waiter = { conn, missing, bytes };
    conn.waiters.add(waiter);
    this.waiterCount++;
    this.waitBytes += bytes;
    for (const k of missing) {
      let set = this.watchers.get(k);
      if (set === undefined) this.watchers.set(k, (set = new Set()));
      set.add(waiter);
    }
  }

  private put(key: string, value: Buffer): void {
    const old = this.keyWatches.has(key) ? this.values.get(key) : undefined;
    const created = this.keyWatches.has(key) && old === undefined;
    this.values.set(key, value);
    this.woken(key);
    if (this.keyWatches.has(key)) this.notify(key, created ? KEY_CREATED : KEY_UPDATED, old ?? EMPTY, value);
  }

  private woken(key: string): void {
    const waiting = this.watchers.get(key);
    if (waiting === undefined) return;
    this.watchers.delete(key);
    for (const w of waiting) {
      w.missing.delete(key);
      if (w.missing.size === 0 && w.conn.waiters.delete(w)) {
        this.release(w);
        this.reply(w.conn, new FrameWriter().u8(WAIT_STOP_WAITING).finish());
      }
    }
  }

  private release(w: Waiter): void {
    this.waiterCount--;
    this.waitBytes -= w.bytes;
  }

  private cancelWaits(conn: Connection): void {
    for (const w of conn.waiters) {
      this.release(w);
      for (const k of w.missing) {
        const set = this.watchers.get(k);
        set?.delete(w);
        if (set?.size === 0) this.watchers.delete(k);
      }
    }
    conn.waiters.clear();
  }
}
