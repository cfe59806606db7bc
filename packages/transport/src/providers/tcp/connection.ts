import { connect, type Socket } from 'node:net';
import { ByteQueue } from './byte_queue.js';
import { describePeer, Reason } from './reasons.js';
import { decodeHeader, decodeHello, encodeHeader, encodeHello, type Frame, HEADER_BYTES, type Hello, HELLO_BYTES, HelloKind } from './wire.js';

/** A proxy as the wire names it: listen host and port, and its identity. */
export interface PeerName {
  host: string;
  port: number;
  process: string;
}

export const nameKey = (p: PeerName): string => `${p.host}|${p.port}|${p.process}`;

export function parseNameKey(key: string): PeerName | undefined {
  const [host, port, proc] = key.split('|');
  const n = Number(port);
  return host && proc && Number.isInteger(n) && n > 0 && n < 65536 ? { host, port: n, process: proc } : undefined;
}

/** The deterministic connect direction: the smaller (host, port) connects, the other waits (or knocks). */
export function connectsTo(self: PeerName, peer: PeerName): boolean {
  return self.host < peer.host || (self.host === peer.host && self.port < peer.port);
}

/** Receives one message's payload as it arrives; end() runs once all of it was handed over. */
export interface FrameSink {
  piece(bytes: Buffer): void;
  end(): void;
}

/** What a connection needs from its proxy. */
export interface ConnectionOwner {
  readonly self: PeerName;
  readonly connectTimeoutMs: number;
  begin(conn: Connection, frame: Frame): FrameSink;
  opened(conn: Connection): void;
  died(conn: Connection): void;
}

/** Work waiting for the connection: run once it is open (in submission order), or failed with its reason. */
export interface Job {
  run(): void;
  fail(reason: Reason, arg0: number, arg1: number, detail: string): void;
}

/** The state of a write being received: its verdict so far and where its bytes go. */
export interface InboundWrite {
  reason: Reason;
  arg: number;
  /** MR record slot, and pool byte offset of the operation's first byte */
  slot: number;
  start: number;
  /** the remote offset the operation started at (chunks carry their own) */
  offset: number;
  /** the remote offset just past its last byte: every chunk must fall inside [offset, end) */
  end: number;
}

const BACKOFF_FIRST_MS = 10;
const BACKOFF_MAX_MS = 500;
/** A socket holding this many bytes ahead of the message being applied stops reading until it drains. */
const QUEUE_HIGH = 32 << 20;
const QUEUE_LOW = 8 << 20;

class Permanent extends Error {
  constructor(
    readonly reason: Reason,
    readonly detail: string,
  ) {
    super(detail);
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const errCode = (e: unknown): string => (e as { code?: string }).code ?? (e as Error).message ?? String(e);

/**
 * Everything between this process and one peer process: `sockets` TCP
 * connections (TCP_NODELAY), made in one direction only. Messages of one
 * direction are numbered; message n travels on socket n % sockets, and
 * the receiver applies them strictly in number order, so order holds
 * across all endpoints and all sockets of the pair while big transfers
 * (split into chunks, one message each) still use every socket.
 */
export class Connection {
  state: 'connecting' | 'open' | 'dead' = 'connecting';
  readonly label: string;
  sockets: number;
  private readonly links: (Socket | undefined)[] = [];
  private readonly queues: ByteQueue[] = [];
  private readonly paused: boolean[] = [];
  private readonly corked = new Set<Socket>();
  private readonly jobs: Job[] = [];
  private sendSeq = 0;
  private recvSeq = 0;
  private current?: { sink: FrameSink; left: number };
  private pumping = false;
  private started = false;
  private timer?: NodeJS.Timeout;
  private lastError = '';
  deadReason: Reason = Reason.OK;
  deadDetail = '';
  deadArgs: [number, number] = [0, 0];
  /** writes being received, by the initiator's operation id */
  readonly inbound = new Map<number, InboundWrite>();

  constructor(
    readonly peer: PeerName,
    private readonly owner: ConnectionOwner,
    sockets: number,
  ) {
    this.label = describePeer(peer.host, peer.port, peer.process);
    this.sockets = sockets;
  }

  get active(): boolean {
    return connectsTo(this.owner.self, this.peer);
  }

  /** Starts the handshake from this side: connect (the smaller address), or knock and wait to be connected. */
  start(knock: boolean): void {
    if (this.started || this.state !== 'connecting') return;
    this.started = true;
    const deadline = performance.now() + this.owner.connectTimeoutMs;
    this.timer = setTimeout(() => this.timeout(), this.owner.connectTimeoutMs);
    if (this.active) {
      for (let i = 0; i < this.sockets; i++) void this.dialData(i, deadline).catch((e: unknown) => this.failSetup(e));
    } else if (knock) {
      void this.knock(deadline).catch((e: unknown) => this.failSetup(e));
    }
  }

  private attempts = 0;

  private timeout(): void {
    if (this.state !== 'connecting') return;
    const waited = this.lastError !== '' ? this.lastError : this.active ? 'no answer' : 'the peer did not connect back';
    this.kill(Reason.CONNECT_FAILED, waited, this.owner.connectTimeoutMs, this.attempts);
  }

  private failSetup(e: unknown): void {
    if (this.state !== 'connecting') return;
    if (e instanceof Permanent) this.kill(e.reason, e.detail);
    else this.kill(Reason.CONNECT_FAILED, errCode(e), this.owner.connectTimeoutMs, this.attempts);
  }

  /** One TCP connection and a hello answered, retried with backoff until the deadline. */
  private async handshake(hello: Hello, deadline: number): Promise<{ socket: Socket; rest: Buffer }> {
    let backoff = BACKOFF_FIRST_MS;
    for (;;) {
      this.attempts++;
      const left = deadline - performance.now();
      let socket: Socket | undefined;
      try {
        socket = await dial(this.peer, left);
        socket.write(encodeHello(hello));
        const { reply, rest } = await readHello(socket, deadline - performance.now());
        if (typeof reply === 'string') throw new Permanent(Reason.PROTOCOL, reply);
        if (reply.kind !== HelloKind.ANSWER) throw new Permanent(Reason.PROTOCOL, `hello answered with kind ${reply.kind}`);
        if (reply.status !== 0 || reply.process !== this.peer.process) throw new Permanent(Reason.WRONG_PROCESS, reply.process);
        return { socket, rest };
      } catch (e) {
        socket?.destroy();
        if (e instanceof Permanent || this.state !== 'connecting') throw e;
        this.lastError = errCode(e);
        const remaining = deadline - performance.now();
        if (remaining <= 0) throw e;
        // Retries run until the deadline itself: the last one may be the one that gets through.
        await sleep(Math.min(backoff, remaining));
        backoff = Math.min(backoff * 2, BACKOFF_MAX_MS);
      }
    }
  }

  private hello(kind: HelloKind, index: number): Hello {
    const { host, port, process } = this.owner.self;
    return { kind, index, sockets: this.sockets, status: 0, host, port, process, expect: this.peer.process };
  }

  private async dialData(i: number, deadline: number): Promise<void> {
    const { socket, rest } = await this.handshake(this.hello(HelloKind.DATA, i), deadline);
    if (this.state === 'dead') {
      socket.destroy();
      return;
    }
    this.attach(i, socket, rest);
  }

  private async knock(deadline: number): Promise<void> {
    const { socket } = await this.handshake(this.hello(HelloKind.KNOCK, 0), deadline);
    socket.end();
  }

  /** A data socket the peer connected (this side is the larger address). */
  adopt(hello: Hello, socket: Socket, rest: Buffer): boolean {
    if (this.state !== 'connecting' || this.active || hello.index >= hello.sockets || this.links[hello.index]) return false;
    if (!this.timer) this.timer = setTimeout(() => this.timeout(), this.owner.connectTimeoutMs);
    this.started = true;
    // The connecting side chose how many sockets the pair uses.
    this.sockets = hello.sockets;
    this.attach(hello.index, socket, rest);
    return true;
  }

  private attach(i: number, socket: Socket, rest: Buffer): void {
    this.links[i] = socket;
    this.queues[i] = new ByteQueue();
    this.paused[i] = false;
    socket.on('data', (b: Buffer) => this.received(i, b));
    socket.on('error', (e) => {
      this.lastError = errCode(e);
    });
    socket.on('close', () => this.kill(Reason.CONNECTION_LOST, this.lastError || 'closed by the peer'));
    this.received(i, rest);
    socket.resume();
    let n = 0;
    for (let k = 0; k < this.sockets; k++) if (this.links[k]) n++;
    if (n === this.sockets) this.open();
  }

  private open(): void {
    if (this.state !== 'connecting') return;
    this.state = 'open';
    clearTimeout(this.timer);
    this.owner.opened(this);
    for (const job of this.jobs.splice(0)) job.run();
    // What the peer sent while this side was still waiting for its last answer.
    this.pump();
  }

  /** Runs `job` now if the connection is open and nothing waits before it; otherwise in order later. */
  submit(job: Job): void {
    if (this.state === 'dead') job.fail(this.deadReason, this.deadArgs[0], this.deadArgs[1], this.deadDetail);
    else if (this.state === 'open' && this.jobs.length === 0) job.run();
    else this.jobs.push(job);
  }

  /** Queues one message on socket seq % sockets; `onWritten` runs once the kernel took the payload (or the socket died). */
  send(frame: Omit<Frame, 'seq'>, payload?: Uint8Array, onWritten?: (err?: Error | null) => void): void {
    if (this.state !== 'open') {
      onWritten?.(new Error('connection is not open'));
      return;
    }
    const seq = this.sendSeq;
    this.sendSeq = (seq + 1) >>> 0;
    const socket = this.links[seq % this.sockets]!;
    if (!this.corked.has(socket)) {
      // Messages of one turn of the event loop leave in one writev per socket.
      socket.cork();
      // A microtask, not process.nextTick: the proxy's passes may run outside a callback scope.
      if (this.corked.size === 0) queueMicrotask(() => this.uncork());
      this.corked.add(socket);
    }
    const header = encodeHeader({ ...frame, seq });
    if (payload && payload.length > 0) {
      socket.write(header);
      socket.write(payload, onWritten);
    } else {
      socket.write(header, onWritten);
    }
  }

  private uncork(): void {
    for (const s of this.corked) s.uncork();
    this.corked.clear();
  }

  private received(i: number, b: Buffer): void {
    this.queues[i]?.push(b);
    this.pump();
  }

  /**
   * Applies messages in number order, taking each from the socket it must
   * be on. Only once open: the accepting side opens when the last socket
   * arrives, before the connecting side has its last answer, so it may send
   * first; applying a message before this side is open could not answer it.
   */
  private pump(): void {
    if (this.pumping || this.state !== 'open') return;
    this.pumping = true;
    try {
      while (this.state === 'open') {
        const q = this.queues[this.recvSeq % this.sockets];
        if (!q) break;
        if (!this.current) {
          if (q.length < HEADER_BYTES) break;
          const frame = decodeHeader(q.read(HEADER_BYTES));
          if (frame.seq !== this.recvSeq) {
            this.kill(Reason.PROTOCOL, `message ${frame.seq} arrived where ${this.recvSeq} was due`);
            return;
          }
          this.current = { sink: this.owner.begin(this, frame), left: frame.length };
        }
        const cur = this.current;
        while (cur.left > 0 && q.length > 0) {
          const piece = q.take(cur.left);
          cur.left -= piece.length;
          cur.sink.piece(piece);
        }
        if (cur.left > 0) break;
        this.current = undefined;
        this.recvSeq = (this.recvSeq + 1) >>> 0;
        cur.sink.end();
      }
    } catch (e) {
      this.kill(Reason.PROTOCOL, (e as Error).message);
    } finally {
      this.pumping = false;
    }
    this.flowControl();
  }

  private flowControl(): void {
    for (let i = 0; i < this.sockets; i++) {
      const s = this.links[i];
      const q = this.queues[i];
      if (!s || !q) continue;
      if (!this.paused[i] && q.length > QUEUE_HIGH) {
        s.pause();
        this.paused[i] = true;
      } else if (this.paused[i] && q.length < QUEUE_LOW) {
        s.resume();
        this.paused[i] = false;
      }
    }
  }

  /** Fail-stop: every socket closes, waiting work fails, the proxy fails what was in flight. Never reopened. */
  kill(reason: Reason, detail: string, arg0 = 0, arg1 = 0): void {
    if (this.state === 'dead') return;
    this.state = 'dead';
    this.deadReason = reason;
    this.deadDetail = detail;
    this.deadArgs = [arg0, arg1];
    clearTimeout(this.timer);
    for (const s of this.links) s?.destroy();
    for (const q of this.queues) q?.clear();
    this.inbound.clear();
    this.current = undefined;
    for (const job of this.jobs.splice(0)) job.fail(reason, arg0, arg1, detail);
    this.owner.died(this);
  }
}

/** Connects one socket, or rejects with the socket error (or ETIMEDOUT) within `timeoutMs`. */
function dial(peer: PeerName, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: peer.host, port: peer.port, noDelay: true, keepAlive: true, keepAliveInitialDelay: 10_000 });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(Object.assign(new Error('connect timed out'), { code: 'ETIMEDOUT' }));
    }, Math.max(1, timeoutMs));
    const onError = (e: Error) => {
      clearTimeout(timer);
      socket.destroy();
      reject(e);
    };
    socket.once('connect', () => {
      clearTimeout(timer);
      // Later errors belong to whoever reads the socket next; an unheard 'error' would kill the proxy.
      socket.off('error', onError);
      socket.on('error', () => {});
      resolve(socket);
    });
    socket.once('error', onError);
  });
}

/**
 * Reads the 128-byte hello at the start of a socket; bytes after it stay
 * for the message stream. The socket is paused when this resolves, so
 * nothing is emitted before its next reader attaches.
 */
export function readHello(socket: Socket, timeoutMs: number): Promise<{ reply: Hello | string; rest: Buffer }> {
  return new Promise((resolve, reject) => {
    let got: Buffer = Buffer.alloc(0);
    const cleanup = () => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('error', onError);
      socket.off('close', onClose);
    };
    const onData = (b: Buffer) => {
      got = got.length === 0 ? b : Buffer.concat([got, b]);
      if (got.length < HELLO_BYTES) return;
      socket.pause();
      cleanup();
      // An error after the hello is the connection's to report; until then nobody may miss one.
      socket.on('error', () => {});
      resolve({ reply: decodeHello(got.subarray(0, HELLO_BYTES)), rest: got.subarray(HELLO_BYTES) });
    };
    const onError = (e: Error) => {
      cleanup();
      reject(e);
    };
    const onClose = () => {
      cleanup();
      reject(Object.assign(new Error('closed before the hello'), { code: 'ECONNRESET' }));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(Object.assign(new Error('no hello from the peer'), { code: 'ETIMEDOUT' }));
    }, Math.max(1, timeoutMs));
    socket.on('data', onData);
    socket.on('error', onError);
    socket.on('close', onClose);
  });
}
