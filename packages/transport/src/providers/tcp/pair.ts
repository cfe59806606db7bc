import { enterInflight, leaveInflight } from '../../inflight_guard.js';
import type { Pool } from '../../pool.js';
import { inflightWord, regionUsable } from './mr_check.js';
import { Reason } from './reasons.js';
import { readSome, SocketClosed, writeSome } from './sync_socket.js';
import { emptyHeader, getHeader, type Header, HEADER_BYTES, putAck, putHeader } from './wire.js';

/** Bytes read from the socket at once; payloads past what it holds go straight into their region. */
const RX_BYTES = 256 * 1024;
/** A payload with at least this much left and nothing buffered is read straight into its region. */
const DIRECT_MIN = 32 * 1024;
/** Reads per progress round on one socket: a fast sender cannot keep its receiver in one round. */
const READS_PER_ROUND = 16;
/** Applied operations that are acknowledged without waiting for a message to carry it. */
const ACK_EVERY = 64;
/** How long an acknowledgement waits for a message to ride on before it goes alone (ms). */
const ACK_DELAY_MS = 0.05;

const NO_RX = Buffer.alloc(0);

/** A region of this process's pool, re-checked by key before every piece that moves. */
export interface RegionRef {
  key: number;
  slot: number;
  /** pool byte offset of the next byte */
  at: number;
  /** the initiator's own region (its errors are LOCAL_*) */
  local: boolean;
  /** a peer's access: the region's windows as the target checked them (mr_window.ts) */
  win: number;
}

/** Where an incoming message's payload goes. */
export interface Sink {
  region?: RegionRef;
  bytes?: Buffer;
  got: number;
  /** the verdict so far: once not OK the rest of the payload is read and dropped */
  reason: Reason;
  arg: number;
}

/** A message waiting to leave: its header, then its payload from a region or from bytes. */
interface Out {
  hdr: Buffer;
  region?: RegionRef;
  bytes?: Uint8Array;
  length: number;
  /** bytes of header and payload already taken by the socket */
  sent: number;
  /** the initiator's operation whose source the region is: failed if the region goes before the first byte left */
  opId: number;
}

/** What a pair needs from its endpoint. */
export interface PairOwner {
  readonly pool: Pool;
  /** an incoming message's header: where its payload goes */
  begin(pair: Pair, h: Header): Sink;
  /** all of its payload arrived */
  end(pair: Pair, h: Header, sink: Sink): void;
  /** the peer acknowledged every operation of this pair up to `opId` */
  acked(pair: Pair, opId: number): void;
  /**
   * A message whose payload region went away before it could leave: this
   * side's own write (`region.local`), or its answer to the peer's read.
   */
  dropped(pair: Pair, opId: number, reason: Reason, region: RegionRef, length: number): void;
  /** the socket is lost: fail what is in flight */
  died(pair: Pair): void;
}

/**
 * One connected socket between two endpoints, driven by the thread that
 * owns the endpoint (Gloo's pair): messages leave in order from a queue,
 * straight from pool memory with writev, continuing after partial writes;
 * incoming bytes are read into a buffer and parsed, large payloads read
 * straight into their region. Every access to a region happens inside its
 * in-flight guard for one system call only, after checking the key's
 * generation, state and revocation, so closing or revoking a region never
 * waits on the network and nothing reaches a region's next owner.
 */
export class Pair {
  state: 'connecting' | 'open' | 'dead' = 'connecting';
  fd = -1;
  /** the listener record this pair watches (connecting) or drives (open) */
  rec = -1;
  /** records this pair asked for and must release */
  readonly records = new Set<number>();
  deadReason = Reason.OK;
  deadDetail = '';
  deadArgs: [number, number] = [0, 0];
  unix = false;
  /** the peer's operations this side refused (the endpoint closes the pair at REFUSALS_MAX) */
  refusals = 0;

  private readonly out: Out[] = [];
  private outHead = 0;
  /** allocated when the socket opens and let go when it dies: a dead pair is kept (to name its error) but holds no buffer */
  private rx = NO_RX;
  private rpos = 0;
  private rend = 0;
  private cur: { h: Header; left: number; sink: Sink } | undefined;
  private readonly hdrIn = emptyHeader();

  /** the latest of the peer's operations applied here, and how many the peer has not been told of */
  private applied = 0;
  private owed = 0;
  /** one of them is awaited: tell the peer at the end of this round */
  private prompt = false;
  /** the next id of an operation this side starts */
  private nextOpId = 1;
  private readonly u8: Uint8Array;
  private readonly ctl: Int32Array;

  constructor(
    readonly owner: PairOwner,
    readonly peerProcess: string,
    readonly peerSlot: number,
    readonly peerGen: number,
    readonly label: string,
  ) {
    this.u8 = new Uint8Array(owner.pool.memory.buffer);
    this.ctl = owner.pool.ctl;
  }

  open(fd: number, rec: number, unix: boolean): void {
    this.fd = fd;
    this.rec = rec;
    this.unix = unix;
    this.rx = Buffer.allocUnsafe(RX_BYTES);
    this.state = 'open';
  }

  takeOpId(): number {
    const id = this.nextOpId;
    // uint32 ids, 0 skipped: 0 in a header's ack word means "nothing yet".
    this.nextOpId = (id + 1) >>> 0 || 1;
    return id;
  }

  /** Queues a message; `region` or `bytes` is its payload of `h.length` bytes. */
  send(h: Header, region?: RegionRef, bytes?: Uint8Array): void {
    const hdr = Buffer.allocUnsafe(HEADER_BYTES);
    putHeader(hdr, 0, h);
    this.out.push({ hdr, region, bytes, length: h.length, sent: 0, opId: h.opId });
  }

  /**
   * Records that the peer's operation `opId` was applied. The
   * acknowledgement rides on the next message to the peer, or goes alone
   * at the end of the round when the operation is awaited or many are owed.
   */
  applyDone(opId: number, awaited: boolean): void {
    this.applied = opId;
    if (this.owed++ === 0) this.owedSince = performance.now();
    if (awaited) this.prompt = true;
  }

  private owedSince = 0;

  /**
   * Whether an acknowledgement should go alone at the end of this round:
   * one is awaited, many are owed, or no message carried it for a while
   * (the peer's completions must not wait for this side's next call).
   */
  get ackDue(): boolean {
    return this.owed > 0 && (this.prompt || this.owed >= ACK_EVERY || performance.now() - this.owedSince > ACK_DELAY_MS);
  }

  /** Sends the owed acknowledgement now if no message is queued to carry it. */
  flushAck(): void {
    if (this.state !== 'open' || this.owed === 0) return;
    if (this.outHead === this.out.length) {
      this.ackOnly.ack = 0;
      this.send(this.ackOnly);
    }
    this.pumpOut();
  }

  private readonly ackOnly = emptyHeader();

  /** Messages waiting to leave. */
  get queued(): number {
    return this.out.length - this.outHead;
  }

  /** Nothing queued here: every message is in the kernel (or the pair is gone). */
  get drained(): boolean {
    return this.state !== 'open' || this.outHead === this.out.length;
  }

  /** Writes queued messages until the socket is full. */
  pumpOut(): void {
    if (this.state !== 'open') return;
    try {
      while (this.outHead < this.out.length) {
        const f = this.out[this.outHead]!;
        if (f.sent === 0) {
          putAck(f.hdr, 0, this.applied);
          this.owed = 0;
          this.prompt = false;
        }
        const n = f.region ? this.writeRegion(f) : writeSome(this.fd, this.parts(f, f.bytes));
        if (n < 0) continue; // dropped before it started
        f.sent += n;
        if (f.sent < HEADER_BYTES + f.length) return;
        this.out[this.outHead++] = undefined as unknown as Out;
        if (this.outHead === this.out.length) {
          this.out.length = 0;
          this.outHead = 0;
        }
      }
    } catch (e) {
      if (!(e instanceof SocketClosed)) throw e;
      this.die(Reason.CONNECTION_LOST, e.code);
    }
  }

  private parts(f: Out, payload: Uint8Array | undefined): Uint8Array[] {
    if (f.sent < HEADER_BYTES) {
      const head = f.sent === 0 ? f.hdr : f.hdr.subarray(f.sent);
      return payload && f.length > 0 ? [head, payload] : [head];
    }
    return [payload!.subarray(f.sent - HEADER_BYTES)];
  }

  /** One writev of a message whose payload is in a region; -1 when the message was dropped instead. */
  private writeRegion(f: Out): number {
    const r = f.region!;
    const guard = inflightWord(this.owner.pool, r.slot);
    enterInflight(this.ctl, guard);
    try {
      const bad = regionUsable(this.owner.pool, r.key, r.slot, r.local, r.win);
      if (bad !== Reason.OK) {
        if (f.sent === 0) {
          // Nothing of it left yet: the stream stays whole without it.
          this.out.splice(this.outHead, 1);
          this.owner.dropped(this, f.opId, bad, r, f.length);
          return -1;
        }
        // Half a message cannot be taken back: the connection ends (fail-stop).
        throw new SocketClosed(bad === Reason.LOCAL_REVOKED || bad === Reason.REVOKED ? 'a region being sent was revoked' : bad === Reason.WINDOW ? "the window of a region being sent changed" : 'a region being sent was closed');
      }
      return writeSome(this.fd, this.parts(f, this.u8.subarray(r.at, r.at + f.length)));
    } finally {
      leaveInflight(this.ctl, guard);
    }
  }

  /** Reads what has arrived and applies every complete message. */
  pumpIn(): void {
    if (this.state !== 'open') return;
    try {
      for (let round = 0; round < READS_PER_ROUND && this.state === 'open'; round++) {
        const cur = this.cur;
        if (cur && this.rpos === this.rend && cur.left >= DIRECT_MIN && cur.sink.region && cur.sink.reason === Reason.OK) {
          const n = this.readRegion(cur.sink, cur.left);
          if (n === 0) break;
          cur.left -= n;
          if (cur.left === 0) this.finish();
          continue;
        }
        if (this.rpos === this.rend) this.rpos = this.rend = 0;
        else if (this.rend > RX_BYTES - HEADER_BYTES) {
          this.rx.copyWithin(0, this.rpos, this.rend);
          this.rend -= this.rpos;
          this.rpos = 0;
        }
        const room = RX_BYTES - this.rend;
        const n = readSome(this.fd, this.rx, this.rend, room);
        if (n === 0) break;
        this.rend += n;
        this.parse();
        if (n < room) break; // drained
      }
    } catch (e) {
      if (!(e instanceof SocketClosed)) throw e;
      this.die(Reason.CONNECTION_LOST, e.code);
    }
  }

  /** Reads straight into the sink's region, inside its guard for this one call. */
  private readRegion(sink: Sink, left: number): number {
    const r = sink.region!;
    const guard = inflightWord(this.owner.pool, r.slot);
    enterInflight(this.ctl, guard);
    try {
      sink.reason = regionUsable(this.owner.pool, r.key, r.slot, r.local, r.win);
      if (sink.reason !== Reason.OK) return 0; // the rest is read into the buffer and dropped
      const n = readSome(this.fd, this.u8, r.at, left);
      r.at += n;
      sink.got += n;
      return n;
    } finally {
      leaveInflight(this.ctl, guard);
    }
  }

  private parse(): void {
    while (this.state === 'open') {
      if (!this.cur) {
        if (this.rend - this.rpos < HEADER_BYTES) return;
        // One header object: a message's end() runs before the next header is read.
        const h = getHeader(this.rx, this.rpos, this.hdrIn);
        this.rpos += HEADER_BYTES;
        if (h.ack !== 0) this.owner.acked(this, h.ack);
        this.cur = { h, left: h.length, sink: this.owner.begin(this, h) };
        if (this.state !== 'open') return;
      }
      const cur = this.cur;
      const k = Math.min(cur.left, this.rend - this.rpos);
      if (k > 0) {
        this.put(cur.sink, k);
        this.rpos += k;
        cur.left -= k;
      }
      if (cur.left > 0) return;
      this.finish();
    }
  }

  private finish(): void {
    const cur = this.cur!;
    this.cur = undefined;
    this.owner.end(this, cur.h, cur.sink);
  }

  /** Moves `k` buffered payload bytes to the sink. */
  private put(sink: Sink, k: number): void {
    const from = this.rpos;
    if (sink.region) {
      if (sink.reason !== Reason.OK) return;
      const r = sink.region;
      const guard = inflightWord(this.owner.pool, r.slot);
      enterInflight(this.ctl, guard);
      try {
        sink.reason = regionUsable(this.owner.pool, r.key, r.slot, r.local, r.win);
        if (sink.reason === Reason.OK) this.u8.set(this.rx.subarray(from, from + k), r.at);
      } finally {
        leaveInflight(this.ctl, guard);
      }
      r.at += k;
      sink.got += k;
    } else if (sink.bytes) {
      this.rx.copy(sink.bytes, sink.got, from, from + k);
      sink.got += k;
    }
  }

  /** The socket is lost or misused: nothing more is read or written, and the listener closes it. */
  die(reason: Reason, detail: string, arg0 = 0, arg1 = 0): void {
    if (this.state === 'dead') return;
    this.state = 'dead';
    this.deadReason = reason;
    this.deadDetail = detail;
    this.deadArgs = [arg0, arg1];
    this.fd = -1;
    this.out.length = 0;
    this.outHead = 0;
    this.cur = undefined;
    this.rx = NO_RX;
    this.owner.died(this);
  }
}
