import { randomBytes } from 'node:crypto';
import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';
import { PAGE_SIZE } from '../../constants.js';
import { EndpointField } from '../../control_layout.js';
import { fail, TransportError } from '../../errors.js';
import { MrAccess } from '../../fabric/access.js';
import { enterInflight, leaveInflight } from '../../inflight_guard.js';
import { scrubAndFreePagesLocked } from '../../page_allocator.js';
import { tables } from '../../pool_tables.js';
import type { Pool } from '../../pool.js';
import { Connection, type ConnectionOwner, connectsTo, type FrameSink, type InboundWrite, type Job, nameKey, type PeerName, parseNameKey, readHello } from './connection.js';
import { debugLine } from './debug_log.js';
import { listenAddressFromEnv } from './interface_choice.js';
import {
  C, CQ_BYTE, CQ_ENTRIES, D, DETAIL_MAX, E, ENDPOINT_PAGES, FLAG_DATA, HEARTBEAT_MS, I, IN_BYTE, IN_ENTRIES, InKind, MAX_TAGGED, P, P_ERROR_BYTE, P_ERROR_MAX,
  P_HOST_BYTE, P_PROCESS_BYTE, Phase, PROCESS_MAX, PROXY_PAGES, putText, getText, ringPlace, ringUsed, RX_BYTE, RX_BYTES, SQ_BYTE, SQ_ENTRIES, SqOp, TCP_ENDPOINT,
  TCP_PROXY, TX_BYTE,
} from './layout.js';
import { inflightWord, resolveLocal, resolveTarget, stillUsable } from './mr_check.js';
import { Reason } from './reasons.js';
import { encodeHello, type Frame, Flag, type Hello, HelloKind, Op } from './wire.js';

export const SOCKETS_ENV = 'COLLECTIVE_SOCKETS_PER_PEER';
export const CONNECT_TIMEOUT_ENV = 'COLLECTIVE_SOCKET_CONNECT_TIMEOUT_MS';
const DEFAULT_SOCKETS = 2;
const MAX_SOCKETS = 64;
const DEFAULT_CONNECT_TIMEOUT_MS = 30_000;
/** Transfers are cut into messages of at most this many payload bytes, spread over the pair's sockets. */
export const CHUNK_BYTES = 512 * 1024;

/** A tcp endpoint of this process as the proxy sees it: its block in the pool and what did not fit there yet. */
interface EpView {
  slot: number;
  gen: number;
  domain: number;
  /** pool byte offset of the endpoint block */
  base: number;
  w: Int32Array;
  backlog: InItem[];
}

interface InItem {
  kind: InKind;
  srcSlot: number;
  srcGen: number;
  process: string;
  tag: number;
  length: number;
  data: number;
  payload?: Buffer;
}

/** An operation of a local endpoint, from its submission until its completion is pushed. */
interface Pending {
  conn: Connection;
  ep: number;
  epGen: number;
  token: number;
  op: SqOp;
  opId: number;
  lkey: number;
  loff: number;
  length: number;
  /** set once the operation holds its local region's in-flight guard; idempotent */
  release?: () => void;
  /** a read's verdict while its bytes arrive */
  failed: Reason;
  lstart: number;
  lslot: number;
}

interface Submission {
  op: SqOp;
  token: number;
  flags: number;
  lkey: number;
  loff: number;
  length: number;
  rslot: number;
  rgen: number;
  rkey: number;
  roff: number;
  data: number;
  tag: number;
  peer: string;
}

type WaitAsync = (a: Int32Array, i: number, v: number) => { async: boolean; value: Promise<string> | string };
const waitAsync = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync;

const HI = 2 ** 32;
const noPayload = (what: string): FrameSink => ({
  piece: () => {
    throw new Error(`${what} carries no payload`);
  },
  end: () => {},
});

function positiveIntEnv(name: string, fallback: number, max: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n <= 0 || n > max) fail('EINVAL', `${name} must be an integer in [1, ${max}] (got ${raw})`);
  return n;
}

/**
 * The process's proxy thread (NCCL's proxy): owns the listening socket
 * and every connection, takes operations from the endpoints' submission
 * rings, and puts completions and incoming work into their rings, waking
 * their threads through each endpoint's doorbell.
 */
export class Proxy implements ConnectionOwner {
  private readonly conns = new Map<string, Connection>();
  private readonly eps = new Map<number, EpView>();
  private readonly pending = new Map<number, Pending>();
  private readonly u8: Uint8Array;
  private readonly ctl: Int32Array;
  private nextOpId = 1;
  private epoch = -1;
  private stopped = false;
  private heartbeat?: NodeJS.Timeout;

  constructor(
    private readonly pool: Pool,
    private readonly pb: Int32Array,
    private readonly server: Server,
    readonly self: PeerName,
    readonly sockets: number,
    readonly connectTimeoutMs: number,
    private readonly record: { slot: number; gen: number },
  ) {
    this.u8 = new Uint8Array(pool.memory.buffer);
    this.ctl = pool.ctl;
  }

  run(): void {
    this.server.on('connection', (s: Socket) => this.accept(s));
    this.heartbeat = setInterval(() => Atomics.add(this.pb, P.HEARTBEAT, 1), HEARTBEAT_MS);
    this.loop();
  }

  /** One pass over every endpoint, then sleep on the doorbell without blocking the socket event loop. */
  private loop(): void {
    if (this.stopped) return;
    Atomics.store(this.pb, P.IDLE, 0);
    const seen = Atomics.load(this.pb, P.DOORBELL);
    this.pass();
    if (this.stopped) return;
    Atomics.store(this.pb, P.IDLE, 1);
    // A post since `seen` moved the doorbell: waitAsync then answers at once.
    // Either way the next pass runs from setImmediate, not from the promise:
    // a promise settled by another thread's notify runs outside Node's
    // callback scope, where process.nextTick work (stream write callbacks)
    // would wait for some unrelated socket event or timer.
    const r = waitAsync(this.pb, P.DOORBELL, seen);
    if (r.async) void (r.value as Promise<string>).then(this.resume);
    else setImmediate(this.next);
  }

  private readonly next = (): void => this.loop();
  private readonly resume = (): void => {
    setImmediate(this.next);
  };

  private pass(): void {
    if (Atomics.load(this.pb, P.PHASE) === Phase.STOPPING) {
      this.stop();
      return;
    }
    const epoch = Atomics.load(this.pb, P.EP_EPOCH);
    if (epoch !== this.epoch) {
      this.epoch = epoch;
      this.rescan();
    }
    for (const v of this.eps.values()) {
      this.drain(v);
      if (v.backlog.length > 0) this.flush(v);
    }
  }

  private rescan(): void {
    const { endpoints } = tables(this.pool);
    for (const [slot, v] of this.eps) {
      if (endpoints.get(slot, EndpointField.STATE) !== TCP_ENDPOINT || endpoints.get(slot, EndpointField.GEN) !== v.gen) this.eps.delete(slot);
    }
    for (let slot = 0; slot < endpoints.capacity; slot++) {
      if (endpoints.get(slot, EndpointField.STATE) === TCP_ENDPOINT) this.view(slot, endpoints.get(slot, EndpointField.GEN));
    }
  }

  /** The endpoint (slot, gen) of this process if it is a live tcp endpoint. */
  private view(slot: number, gen: number): EpView | undefined {
    const { endpoints } = tables(this.pool);
    if (slot < 0 || slot >= endpoints.capacity) return undefined;
    // Checked on every use, not only at rescans: a closing endpoint takes nothing new.
    if (endpoints.get(slot, EndpointField.STATE) !== TCP_ENDPOINT || endpoints.get(slot, EndpointField.GEN) !== gen) return undefined;
    const v = this.eps.get(slot);
    if (v && v.gen === gen) return v;
    const base = endpoints.get(slot, EndpointField.MAILBOX_PAGE) * PAGE_SIZE;
    const fresh: EpView = {
      slot,
      gen,
      domain: endpoints.get(slot, EndpointField.DOMAIN),
      base,
      w: new Int32Array(this.pool.memory.buffer, base, (ENDPOINT_PAGES * PAGE_SIZE) / 4),
      backlog: [],
    };
    this.eps.set(slot, fresh);
    return fresh;
  }

  /**
   * Runs `act` on memory region `slot` inside its in-flight guard if the
   * region is still usable (`local`: this process's own posts), and returns
   * the reason it is not otherwise. Close and revoke wait for the guard, so
   * nothing touches the pages after they return.
   */
  private whileUsable(slot: number, local: boolean, act: () => void): Reason {
    const guard = inflightWord(this.pool, slot);
    enterInflight(this.ctl, guard);
    try {
      const bad = stillUsable(this.pool, slot, local);
      if (bad === Reason.OK) act();
      return bad;
    } finally {
      leaveInflight(this.ctl, guard);
    }
  }

  /** Runs `fn` while the endpoint cannot free its block, if it is still (slot, gen). */
  private withEndpoint<T>(v: EpView, fn: () => T): T | undefined {
    const { endpoints } = tables(this.pool);
    const guard = endpoints.addr(v.slot, EndpointField.INFLIGHT);
    enterInflight(this.ctl, guard);
    try {
      if (endpoints.get(v.slot, EndpointField.STATE) !== TCP_ENDPOINT || endpoints.get(v.slot, EndpointField.GEN) !== v.gen) return undefined;
      return fn();
    } finally {
      leaveInflight(this.ctl, guard);
    }
  }

  private ringEndpoint(v: EpView): void {
    const bell = tables(this.pool).endpoints.addr(v.slot, EndpointField.DOORBELL);
    Atomics.add(this.ctl, bell, 1);
    if (Atomics.load(v.w, E.WAITING) !== 0) Atomics.notify(this.ctl, bell);
  }

  // ---- submissions -------------------------------------------------------

  /** Takes every new submission of the endpoint (inside its guard: a closing endpoint frees the ring), then starts them. */
  private drain(v: EpView): void {
    const taken = this.withEndpoint(v, () => {
      const { w } = v;
      const out: [Submission, Buffer | undefined][] = [];
      let head = Atomics.load(w, E.SQ_HEAD) >>> 0;
      const tail = Atomics.load(w, E.SQ_TAIL) >>> 0;
      while (head !== tail) {
        const at = SQ_BYTE / 4 + (head % SQ_ENTRIES) * D.WORDS;
        const s: Submission = {
          op: w[at + D.OP]! as SqOp,
          token: w[at + D.TOKEN]!,
          flags: w[at + D.FLAGS]!,
          lkey: (w[at + D.LKEY_LO]! >>> 0) + (w[at + D.LKEY_HI]! >>> 0) * HI,
          loff: w[at + D.LOFF]! >>> 0,
          length: w[at + D.LEN]! >>> 0,
          rslot: w[at + D.RSLOT]!,
          rgen: w[at + D.RGEN]!,
          rkey: (w[at + D.RKEY_LO]! >>> 0) + (w[at + D.RKEY_HI]! >>> 0) * HI,
          roff: (w[at + D.ROFF_LO]! >>> 0) + (w[at + D.ROFF_HI]! >>> 0) * HI,
          data: w[at + D.DATA]! >>> 0,
          tag: w[at + D.TAG]! >>> 0,
          peer: getText(this.u8, v.base + (at + D.PEER) * 4, w[at + D.PEER_LEN]!),
        };
        let payload: Buffer | undefined;
        if (s.op === SqOp.SEND) {
          // Tagged messages are small: copied out so the byte ring turns over at once.
          const pos = v.base + TX_BYTE + (w[at + D.TX_POS]! >>> 0);
          payload = Buffer.from(this.u8.subarray(pos, pos + s.length));
          Atomics.store(w, E.TX_HEAD, w[at + D.TX_END]!);
        }
        head = (head + 1) >>> 0;
        Atomics.store(w, E.SQ_HEAD, head | 0);
        out.push([s, payload]);
      }
      return out;
    });
    for (const [s, payload] of taken ?? []) this.dispatch(v, s, payload);
  }

  private connection(name: PeerName): Connection {
    const key = nameKey(name);
    let c = this.conns.get(key);
    if (!c) {
      c = new Connection(name, this, this.sockets);
      this.conns.set(key, c);
    }
    return c;
  }

  private dispatch(v: EpView, s: Submission, payload: Buffer | undefined): void {
    const name = parseNameKey(s.peer);
    const conn = name ? this.connection(name) : undefined;
    const p: Pending = {
      conn: conn!,
      ep: v.slot,
      epGen: v.gen,
      token: s.token,
      op: s.op,
      opId: 0,
      lkey: s.lkey,
      loff: s.loff,
      length: s.length,
      failed: Reason.OK,
      lstart: 0,
      lslot: -1,
    };
    if (!conn) {
      this.complete(p, Reason.PROTOCOL, 0, 0, `bad peer address '${s.peer}'`);
      return;
    }
    const job: Job = {
      run: () => this.startOp(conn, p, s, payload),
      fail: (reason, a0, a1, detail) => this.complete(p, reason, a0, a1, detail),
    };
    conn.start(true);
    conn.submit(job);
  }

  private track(p: Pending): number {
    p.opId = this.nextOpId;
    this.nextOpId = (this.nextOpId % 0xfffffff0) + 1;
    this.pending.set(p.opId, p);
    return p.opId;
  }

  private startOp(conn: Connection, p: Pending, s: Submission, payload: Buffer | undefined): void {
    const base = { srcSlot: p.ep, srcGen: p.epGen, dstSlot: s.rslot, dstGen: s.rgen, key: s.rkey, data: 0, tag: 0, status: 0 };
    if (s.op === SqOp.SEND) {
      const opId = this.track(p);
      conn.send({ ...base, op: Op.SEND, flags: Flag.FIRST | Flag.LAST, key: 0, offset: 0, length: payload!.length, tag: s.tag, opId, total: payload!.length }, payload);
      return;
    }
    if (s.op === SqOp.READ) {
      const opId = this.track(p);
      conn.send({ ...base, op: Op.READ_REQUEST, flags: Flag.FIRST | Flag.LAST, offset: s.roff, length: 0, opId, total: s.length });
      return;
    }
    // A write is sent straight from the source region: its in-flight guard is
    // held until the kernel took the last byte, so closing or revoking the
    // region waits for that and never hands the pages on while they are read.
    const local = resolveLocal(this.pool, s.lkey, s.loff);
    if ('reason' in local) {
      this.complete(p, local.reason);
      return;
    }
    const guard = inflightWord(this.pool, local.slot);
    enterInflight(this.ctl, guard);
    const bad = stillUsable(this.pool, local.slot, true);
    if (bad !== Reason.OK) {
      leaveInflight(this.ctl, guard);
      this.complete(p, bad);
      return;
    }
    let held = true;
    p.release = () => {
      if (held) {
        held = false;
        leaveInflight(this.ctl, guard);
      }
    };
    const opId = this.track(p);
    const chunks = Math.max(1, Math.ceil(s.length / CHUNK_BYTES));
    let unwritten = s.length > 0 ? chunks : 0;
    const written = () => {
      if (--unwritten === 0) p.release?.();
    };
    for (let c = 0; c < chunks; c++) {
      const off = c * CHUNK_BYTES;
      const size = Math.min(CHUNK_BYTES, s.length - off);
      const flags = (c === 0 ? Flag.FIRST : 0) | (c === chunks - 1 ? Flag.LAST : 0) | (s.flags & FLAG_DATA ? Flag.DATA : 0);
      const frame = { ...base, op: Op.WRITE, flags, offset: s.roff + off, length: size, data: s.data, opId, total: s.length };
      if (size > 0) conn.send(frame, this.u8.subarray(local.start + off, local.start + off + size), written);
      else conn.send(frame);
    }
    if (s.length === 0) p.release();
  }

  /** Pushes the outcome of `p` into its endpoint's completion ring. */
  private complete(p: Pending, reason: Reason, arg0 = 0, arg1 = 0, detail = ''): void {
    if (p.opId !== 0) this.pending.delete(p.opId);
    p.release?.();
    const v = this.view(p.ep, p.epGen);
    if (!v) return;
    this.withEndpoint(v, () => {
      const { w } = v;
      const tail = Atomics.load(w, E.CQ_TAIL) >>> 0;
      const at = CQ_BYTE / 4 + (tail % CQ_ENTRIES) * C.WORDS;
      w[at + C.TOKEN] = p.token;
      w[at + C.REASON] = reason;
      w[at + C.ARG0] = arg0;
      w[at + C.ARG1] = arg1;
      w[at + C.DETAIL_LEN] = detail ? putText(this.u8, v.base + (at + C.DETAIL) * 4, DETAIL_MAX, detail) : 0;
      Atomics.store(w, E.CQ_TAIL, (tail + 1) | 0);
      this.ringEndpoint(v);
    });
  }

  // ---- incoming messages -------------------------------------------------

  begin(conn: Connection, f: Frame): FrameSink {
    switch (f.op) {
      case Op.WRITE:
        return this.inWrite(conn, f);
      case Op.READ_REQUEST:
        return { ...noPayload('a read request'), end: () => this.inRead(conn, f) };
      case Op.READ_RESPONSE:
        return this.inReadResponse(conn, f);
      case Op.SEND:
        return this.inSend(conn, f);
      case Op.ACK:
        return { ...noPayload('an acknowledgement'), end: () => this.inAck(conn, f) };
      default:
        throw new Error(`unknown message kind ${f.op as number}`);
    }
  }

  /** The target side's checks of an RMA, as shm makes them, in this process's tables. */
  private checkTarget(f: Frame, need: number): InboundWrite {
    const end = f.offset + f.total;
    const v = this.view(f.dstSlot, f.dstGen);
    if (!v) return { reason: Reason.ENDPOINT_GONE, arg: 0, slot: -1, start: 0, offset: f.offset, end };
    const hit = resolveTarget(this.pool, f.key, v.domain, f.offset, f.total, need);
    if ('reason' in hit) return { reason: hit.reason, arg: hit.arg, slot: -1, start: 0, offset: f.offset, end };
    return { reason: Reason.OK, arg: 0, slot: hit.slot, start: hit.start, offset: f.offset, end };
  }

  private inWrite(conn: Connection, f: Frame): FrameSink {
    let st: InboundWrite;
    if (f.flags & Flag.FIRST) {
      st = this.checkTarget(f, MrAccess.remoteWrite);
      if (!(f.flags & Flag.LAST)) conn.inbound.set(f.opId, st);
    } else {
      const known = conn.inbound.get(f.opId);
      if (!known) throw new Error(`a chunk of write ${f.opId}, which never started`);
      st = known;
      if (f.flags & Flag.LAST) conn.inbound.delete(f.opId);
    }
    // Only the first chunk was checked against the region: the others must stay inside what it covered.
    if (f.offset < st.offset || f.offset + f.length > st.end) throw new Error(`write ${f.opId} sent bytes [${f.offset}, ${f.offset + f.length}) outside its range [${st.offset}, ${st.end})`);
    let at = st.start + (f.offset - st.offset);
    return {
      // One copy from the socket's buffer into the region, inside its in-flight
      // guard: close and revoke wait for it, and nothing lands after they return.
      piece: (b) => {
        if (st.reason === Reason.OK) st.reason = this.whileUsable(st.slot, false, () => this.u8.set(b, at));
        at += b.length;
      },
      end: () => {
        if (!(f.flags & Flag.LAST)) return;
        if (st.reason === Reason.OK) {
          this.countRemote(f.dstSlot, f.dstGen, EndpointField.REMOTE_WRITES);
          if (f.flags & Flag.DATA) {
            this.deliver(f.dstSlot, f.dstGen, { kind: InKind.REMOTE_WRITE, srcSlot: f.srcSlot, srcGen: f.srcGen, process: conn.peer.process, tag: 0, length: f.total, data: f.data });
          }
        }
        this.ack(conn, f, st.reason, st.arg);
      },
    };
  }

  private inRead(conn: Connection, f: Frame): void {
    const st = this.checkTarget(f, MrAccess.remoteRead);
    let bytes: Buffer | undefined;
    // Copied out inside the guard: revoke never waits on the network.
    if (st.reason === Reason.OK) st.reason = this.whileUsable(st.slot, false, () => (bytes = Buffer.from(this.u8.subarray(st.start, st.start + f.total))));
    if (!bytes) {
      this.ack(conn, f, st.reason, st.arg);
      return;
    }
    this.countRemote(f.dstSlot, f.dstGen, EndpointField.REMOTE_READS);
    const chunks = Math.max(1, Math.ceil(f.total / CHUNK_BYTES));
    for (let c = 0; c < chunks; c++) {
      const off = c * CHUNK_BYTES;
      const size = Math.min(CHUNK_BYTES, f.total - off);
      conn.send(
        {
          op: Op.READ_RESPONSE,
          flags: (c === 0 ? Flag.FIRST : 0) | (c === chunks - 1 ? Flag.LAST : 0),
          srcSlot: f.dstSlot,
          srcGen: f.dstGen,
          dstSlot: f.srcSlot,
          dstGen: f.srcGen,
          key: 0,
          offset: off,
          length: size,
          data: 0,
          tag: 0,
          opId: f.opId,
          status: 0,
          total: f.total,
        },
        size > 0 ? bytes.subarray(off, off + size) : undefined,
      );
    }
  }

  private inReadResponse(conn: Connection, f: Frame): FrameSink {
    const p = this.pending.get(f.opId);
    if (!p || p.conn !== conn || p.op !== SqOp.READ) throw new Error(`a read response for unknown operation ${f.opId}`);
    if (f.offset + f.length > p.length) throw new Error(`read ${f.opId} answered bytes [${f.offset}, ${f.offset + f.length}) of a ${p.length}-byte read`);
    if (f.flags & Flag.FIRST) {
      const local = resolveLocal(this.pool, p.lkey, p.loff);
      if ('reason' in local) p.failed = local.reason;
      else {
        p.lslot = local.slot;
        p.lstart = local.start;
      }
    }
    let at = p.lstart + f.offset;
    return {
      piece: (b) => {
        if (p.failed === Reason.OK) p.failed = this.whileUsable(p.lslot, true, () => this.u8.set(b, at));
        at += b.length;
      },
      end: () => {
        if (f.flags & Flag.LAST) this.complete(p, p.failed);
      },
    };
  }

  private inSend(conn: Connection, f: Frame): FrameSink {
    if (f.length > MAX_TAGGED) throw new Error(`a tagged message of ${f.length} bytes (the limit is ${MAX_TAGGED})`);
    const bytes = Buffer.allocUnsafe(f.length);
    let at = 0;
    return {
      piece: (b) => {
        bytes.set(b, at);
        at += b.length;
      },
      end: () => {
        const ok = this.view(f.dstSlot, f.dstGen) !== undefined;
        if (ok) this.deliver(f.dstSlot, f.dstGen, { kind: InKind.TAGGED, srcSlot: f.srcSlot, srcGen: f.srcGen, process: conn.peer.process, tag: f.tag, length: f.length, data: 0, payload: bytes });
        this.ack(conn, f, ok ? Reason.OK : Reason.ENDPOINT_GONE, 0);
      },
    };
  }

  private inAck(conn: Connection, f: Frame): void {
    const p = this.pending.get(f.opId);
    if (p && p.conn === conn) this.complete(p, f.status as Reason, f.total);
  }

  private ack(conn: Connection, f: Frame, reason: Reason, arg: number): void {
    conn.send({
      op: Op.ACK,
      flags: Flag.FIRST | Flag.LAST,
      srcSlot: f.dstSlot,
      srcGen: f.dstGen,
      dstSlot: f.srcSlot,
      dstGen: f.srcGen,
      key: 0,
      offset: 0,
      length: 0,
      data: 0,
      tag: 0,
      opId: f.opId,
      status: reason,
      total: arg,
    });
  }

  private countRemote(slot: number, gen: number, field: EndpointField): void {
    const v = this.view(slot, gen);
    if (!v) return;
    this.withEndpoint(v, () => {
      const word = tables(this.pool).endpoints.addr(slot, field);
      Atomics.add(this.ctl, word, 1);
      Atomics.notify(this.ctl, word);
    });
  }

  /** Incoming work for an endpoint, in arrival order: into its ring, or behind what is already waiting. */
  private deliver(slot: number, gen: number, item: InItem): void {
    const v = this.view(slot, gen);
    if (!v) return;
    if (v.backlog.length === 0 && this.pushIn(v, item)) return;
    v.backlog.push(item);
    this.flush(v);
  }

  private flush(v: EpView): void {
    for (;;) {
      while (v.backlog.length > 0 && this.pushIn(v, v.backlog[0]!)) v.backlog.shift();
      if (v.backlog.length === 0) {
        Atomics.store(v.w, E.BACKLOG, 0);
        return;
      }
      if (Atomics.load(v.w, E.BACKLOG) === 1) return;
      // Flag, then try once more: the endpoint may have made room before it could see the flag.
      Atomics.store(v.w, E.BACKLOG, 1);
    }
  }

  /** True when the item went into the ring (or its endpoint is gone), false when there is no room. */
  private pushIn(v: EpView, item: InItem): boolean {
    const done = this.withEndpoint(v, () => {
      const { w } = v;
      const head = Atomics.load(w, E.IN_HEAD) >>> 0;
      const tail = Atomics.load(w, E.IN_TAIL) >>> 0;
      if (ringUsed(head, tail) >= IN_ENTRIES) return false;
      let pos = 0;
      let end = Atomics.load(w, E.RX_TAIL) >>> 0;
      if (item.payload) {
        const place = ringPlace(Atomics.load(w, E.RX_HEAD) >>> 0, end, item.length, RX_BYTES);
        if (!place) return false;
        this.u8.set(item.payload, v.base + RX_BYTE + place.pos);
        pos = place.pos;
        end = place.end;
      }
      const at = IN_BYTE / 4 + (tail % IN_ENTRIES) * I.WORDS;
      w[at + I.KIND] = item.kind;
      w[at + I.SRC_SLOT] = item.srcSlot;
      w[at + I.SRC_GEN] = item.srcGen;
      w[at + I.TAG] = item.tag | 0;
      w[at + I.LEN] = item.length | 0;
      w[at + I.DATA] = item.data | 0;
      w[at + I.RX_POS] = pos;
      w[at + I.RX_END] = end | 0;
      w[at + I.PROCESS_LEN] = putText(this.u8, v.base + (at + I.PROCESS) * 4, PROCESS_MAX, item.process);
      Atomics.store(w, E.RX_TAIL, end | 0);
      Atomics.store(w, E.IN_TAIL, (tail + 1) | 0);
      this.ringEndpoint(v);
      return true;
    });
    return done ?? true;
  }

  // ---- connections -------------------------------------------------------

  private accept(socket: Socket): void {
    socket.setNoDelay(true);
    socket.on('error', () => {});
    readHello(socket, this.connectTimeoutMs).then(
      ({ reply, rest }) => this.greet(socket, reply, rest),
      () => socket.destroy(),
    );
  }

  private greet(socket: Socket, hello: Hello | string, rest: Buffer): void {
    if (typeof hello === 'string' || (hello.kind !== HelloKind.DATA && hello.kind !== HelloKind.KNOCK)) {
      socket.destroy();
      return;
    }
    const refuse = hello.expect !== this.self.process;
    const answer = encodeHello({ kind: HelloKind.ANSWER, index: hello.index, sockets: hello.sockets, status: refuse ? 1 : 0, ...this.self, expect: hello.process });
    if (refuse) {
      socket.end(answer);
      return;
    }
    const name = { host: hello.host, port: hello.port, process: hello.process };
    if (hello.kind === HelloKind.KNOCK) {
      socket.end(answer);
      const conn = this.connection(name);
      if (connectsTo(this.self, name)) conn.start(false);
      return;
    }
    const conn = this.connection(name);
    if (connectsTo(this.self, name) || hello.sockets < 1 || hello.sockets > MAX_SOCKETS) {
      socket.destroy();
      return;
    }
    socket.write(answer);
    if (!conn.adopt(hello, socket, rest)) socket.destroy();
  }

  opened(conn: Connection): void {
    debugLine(`connected to ${conn.label} with ${conn.sockets} socket(s) (${conn.active ? 'this side connected' : 'the peer connected'})`);
  }

  died(conn: Connection): void {
    debugLine(`connection to ${conn.label} ended: reason ${conn.deadReason}${conn.deadDetail ? ` (${conn.deadDetail})` : ''}`);
    for (const p of [...this.pending.values()]) {
      if (p.conn === conn) this.complete(p, conn.deadReason, conn.deadArgs[0], conn.deadArgs[1], conn.deadDetail);
    }
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.heartbeat);
    this.server.close();
    for (const c of this.conns.values()) c.kill(Reason.PROXY_STOPPED, 'the proxy stopped');
    const { endpoints } = tables(this.pool);
    const { slot, gen } = this.record;
    this.pool.locked(() => {
      if (endpoints.get(slot, EndpointField.STATE) !== TCP_PROXY || endpoints.get(slot, EndpointField.GEN) !== gen) return;
      scrubAndFreePagesLocked(this.pool, endpoints.get(slot, EndpointField.MAILBOX_PAGE), PROXY_PAGES);
      endpoints.freeLocked(slot);
    });
    // Ends this thread only; the process is not ours to stop.
    setImmediate(() => process.exit(0));
  }
}

function listen(server: Server, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => reject(new TransportError('ENOTCONN', `the tcp proxy cannot listen on ${host}: ${e.code ?? e.message}`)));
    server.listen({ host, port: 0, backlog: 511 }, () => resolve((server.address() as AddressInfo).port));
  });
}

function writeFailure(pb: Int32Array, u8: Uint8Array, e: unknown): void {
  const text = e instanceof TransportError ? e.message : `EIO: the tcp proxy failed to start: ${(e as Error).message ?? String(e)}`;
  Atomics.store(pb, P.ERROR_LEN, putText(u8, P_ERROR_BYTE, P_ERROR_MAX, text));
  Atomics.store(pb, P.PHASE, Phase.FAILED);
  Atomics.notify(pb, P.PHASE);
}

/**
 * The proxy thread's main: picks the interface, listens, publishes its
 * address in the proxy block and serves until the last tcp endpoint of
 * the process closes. A failure to start is written into the block for
 * the thread that waits on it.
 */
export async function runProxy(pool: Pool, slot: number, gen: number): Promise<void> {
  const { endpoints } = tables(pool);
  if (endpoints.get(slot, EndpointField.STATE) !== TCP_PROXY || endpoints.get(slot, EndpointField.GEN) !== gen) return;
  const byte = endpoints.get(slot, EndpointField.MAILBOX_PAGE) * PAGE_SIZE;
  const pb = new Int32Array(pool.memory.buffer, byte, PAGE_SIZE / 4);
  const u8 = pool.u8(byte, PAGE_SIZE);
  let server: Server | undefined;
  try {
    const sockets = positiveIntEnv(SOCKETS_ENV, DEFAULT_SOCKETS, MAX_SOCKETS);
    const connectTimeoutMs = positiveIntEnv(CONNECT_TIMEOUT_ENV, DEFAULT_CONNECT_TIMEOUT_MS, 3_600_000);
    const choice = await listenAddressFromEnv();
    server = createServer({ noDelay: true, keepAlive: true, keepAliveInitialDelay: 10_000 });
    const port = await listen(server, choice.address);
    const self = { host: choice.address, port, process: `${process.pid}.${randomBytes(6).toString('hex')}` };
    Atomics.store(pb, P.HOST_LEN, putText(u8, P_HOST_BYTE, 64, self.host));
    Atomics.store(pb, P.PROCESS_LEN, putText(u8, P_PROCESS_BYTE, 64, self.process));
    Atomics.store(pb, P.PORT, port);
    Atomics.store(pb, P.SOCKETS, sockets);
    const proxy = new Proxy(pool, pb, server, self, sockets, connectTimeoutMs, { slot, gen });
    if (Atomics.compareExchange(pb, P.PHASE, Phase.STARTING, Phase.RUNNING) !== Phase.STARTING) {
      // Every endpoint that wanted it is gone already.
      proxy.stop();
      return;
    }
    Atomics.notify(pb, P.PHASE);
    debugLine(`proxy of pool ${pool.id} listens on ${self.host}:${port} (${choice.name || 'no interface'}: ${choice.why}), ${sockets} socket(s) per peer, identity ${self.process}`);
    proxy.run();
  } catch (e) {
    server?.close();
    writeFailure(pb, u8, e);
  }
}
