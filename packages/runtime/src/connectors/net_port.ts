import {
  type AddressVector,
  type Completion,
  type CompletionQueue,
  type DmaBuf,
  type Domain,
  type Endpoint,
  type EndpointAddress,
  Fabric,
  getInfo,
  type MemoryRegion,
  type Pool,
  type ProviderName,
  TransportError,
} from '@collective/transport';
import { cpuCount } from '@collective/transport/runtime';
import { CollectiveError } from '../comm_errors.js';
import { deadlineOf } from '../comm_base/call_clock.js';
import type { WaitContext } from '../comm_base/wait_context.js';
import { Line } from './connector.js';

const VALUE_BITS = 27;
const MASK = (1 << VALUE_BITS) - 1;
/**
 * How long a wait spins before it sleeps, while every rank has a core. A
 * sleep costs 50–100 µs to wake from here (timer slack), several one-way
 * hops over a socket: waits of 2 processes × 1 device over a Unix socket,
 * 8-byte all-reduce, mean call 68 µs spinning 50 µs, 55 µs spinning 0.5–1 ms.
 */
const SPIN_MS = 0.5;
/** Sleep slices of a wait that outlasted its spin: from SLEEP_FIRST_MS, doubling to SLEEP_MAX_MS. */
const SLEEP_FIRST_MS = 0.02;
const SLEEP_MAX_MS = 1;
/** How often a rank waiting on a tcp peer checks that the peer's connection still stands. */
const PROBE_MS = 1000;
/** How long close() lets transfers still in flight finish. */
const CLOSE_DRAIN_MS = 5000;

/** Completion contexts carry the peer's rank, and these bits: an operation on a user buffer, one a wait of this call needs. */
const USER_OP = 1 << 30;
const AWAITED_OP = 1 << 29;
const PEER_MASK = AWAITED_OP - 1;

/** Remote CQ data of a signal: the line in the top bits, the counter in the rest. */
export function encodeSignal(line: Line, value: number): number {
  return ((line << VALUE_BITS) | (value & MASK)) >>> 0;
}

/**
 * A rank's endpoint for its net connectors (the ncclNet side of NCCL): one
 * fabric endpoint, its completion queue and address vector (fi_addr = peer
 * rank), the memory regions peers write into, and the last value of every
 * line each peer signalled. Progress is manual: waits drain the CQ.
 */
export class NetPort {
  readonly ep: Endpoint;
  private readonly cq: CompletionQueue;
  private readonly domain: Domain;
  private readonly av: AddressVector;
  /** this rank's exported scratch, open to peers' writes and reads */
  readonly scratchMr: MemoryRegion;
  /** this rank's private scratch: what it sends from and fetches into */
  readonly privateMr: MemoryRegion;
  private readonly mirrors: Int32Array;
  private outstanding = 0;
  /** posted operations that read or write a user buffer (not this rank's scratch), not yet completed */
  private userOutstanding = 0;
  /** the peer of the latest of them, named if they do not complete */
  private lastUserPeer = 0;
  /** posted operations this call waits for (user buffers, reads, point-to-point staging), not yet completed */
  private awaitedOutstanding = 0;
  private readonly userMrs = new Set<MemoryRegion>();

  constructor(
    readonly pool: Pool,
    readonly provider: ProviderName,
    readonly nranks: number,
    scratch: DmaBuf,
    priv: DmaBuf,
    /** ranks of the job on this machine: spin only while they all have a core */
    hostRanks = nranks,
  ) {
    this.domain = Fabric.open(getInfo({ provider })[0]!).domain(pool);
    this.cq = this.domain.cq({ size: 4096 });
    const av = this.domain.av();
    this.ep = this.domain.endpoint();
    this.ep.bind(this.cq).bind(av);
    this.ep.enable();
    this.av = av;
    this.scratchMr = this.domain.registerDmaBuf(scratch, { access: ['read', 'write', 'remoteRead', 'remoteWrite'] });
    this.privateMr = this.domain.registerDmaBuf(priv, { access: ['read', 'write'] });
    this.mirrors = new Int32Array(nranks * Line.COUNT);
    this.spinMs = hostRanks <= cpuCount() ? SPIN_MS : 0;
  }

  private readonly spinMs: number;

  get address(): EndpointAddress {
    return this.ep.address;
  }

  /** fi_addr of each rank (-1: not reached through this endpoint), and back. */
  private fiAddr: number[] = [];
  private rankOf: number[] = [];
  /** How errors name a peer (set by the communicator: the user's rank, host and pid). */
  peerName: (rank: number) => string = (q) => `rank ${q}`;
  /** Called when a peer signals that it aborted the communicator (peers in other processes have no shared block). */
  onAbort: ((peer: number) => void) | undefined;

  /** Inserts the address of every rank reached through this endpoint; undefined for the others. */
  connect(addresses: readonly (EndpointAddress | undefined)[]): void {
    this.fiAddr = addresses.map((a) => (a === undefined ? -1 : this.av.insert(a)));
    this.rankOf = [];
    for (const [q, f] of this.fiAddr.entries()) if (f >= 0) this.rankOf[f] = q;
  }

  private dest(peer: number): number {
    const f = this.fiAddr[peer];
    if (f === undefined || f < 0) throw new CollectiveError('EINVAL', `rank ${peer} is not reached through this rank's endpoint`);
    return f;
  }

  /**
   * Registers a user buffer's export as a local source or target, and for
   * RMA by peers only inside the windows each call opens on it
   * (CallWindows): between calls its key reaches nothing.
   */
  register(dmabuf: DmaBuf): MemoryRegion {
    const mr = this.domain.registerDmaBuf(dmabuf, { access: ['read', 'write', 'remoteRead', 'remoteWrite'], windowed: true });
    this.userMrs.add(mr);
    return mr;
  }

  deregister(mr: MemoryRegion): void {
    this.userMrs.delete(mr);
    // Calls end after their transfers, but an abandoned call's may still be on their way.
    this.drain(() => this.userOutstanding > 0);
    if (mr.isOpen) mr.close();
  }

  /**
   * Lets the transfers `pending` counts finish or fail, for at most
   * CLOSE_DRAIN_MS; then gives up everything still in flight, so the next
   * drain of this port (deregistering the next buffer, closing) finds
   * nothing to wait for: a dead link costs one budget, not one per buffer.
   */
  private drain(pending: () => boolean): void {
    const end = performance.now() + (this.abandoned ? 0 : CLOSE_DRAIN_MS);
    while (pending() && performance.now() < end) {
      try {
        this.progress();
      } catch {
        // Failed transfers of an aborted communicator are already reported.
      }
      if (pending()) this.ep.waitIncoming(5);
    }
    if (pending()) this.giveUp();
  }

  private abandoned = false;

  /**
   * The communicator was aborted: nobody waits for what is still in flight
   * (the peers gave the calls up too), so closing cancels it at once
   * instead of draining. Safe for this rank's memory: a cancelled transfer
   * moves no further byte.
   */
  abandon(): void {
    this.abandoned = true;
  }

  /**
   * A peer that stopped answering (gone, or no longer driving its
   * endpoint): what it never acknowledged is cancelled, not waited for.
   */
  private giveUp(): void {
    this.ep.cancel();
    // Each failed completion ends one progress() with its error: expected here.
    for (let n = this.outstanding; n >= 0 && this.outstanding > 0; n--) {
      try {
        this.progress();
        break;
      } catch {
        // The next one.
      }
    }
  }

  /** Signals from peers whose line is no line (a buggy or hostile peer): dropped, not applied to another line's mirror. */
  droppedSignals = 0;

  /** Drains completions: signals update the mirrors, finished posts are counted, failures throw. */
  progress(): void {
    for (;;) {
      let got;
      try {
        got = this.cq.read(256);
      } catch (e) {
        if ((e as TransportError).code !== 'EAVAIL') throw e;
        const err = this.cq.readErr()!;
        this.completed(err.context);
        // A round queues completions before incoming work: a peer's abort
        // that arrived before this failure may sit behind it. Applied first,
        // its reason is the communicator's, not this consequence of it.
        this.drainOk();
        const peer = Number(err.context) & PEER_MASK;
        const hint = err.code === 'EACCES' && !err.message.startsWith('local ')
          ? ` (a peer refuses access to its buffers outside the call it is in: ${this.peerName(peer)} may have left or failed this call, or deregistered, freed or revoked the buffer)`
          : '';
        throw new CollectiveError(err.code, `a ${err.op} to or from ${this.peerName(peer)} failed: ${err.message}${hint}`);
      }
      if (got.length === 0) return;
      this.take(got);
    }
  }

  /** The successful completions queued now, stopping at the next failure (left for the next progress()). */
  private drainOk(): void {
    for (;;) {
      let got;
      try {
        got = this.cq.read(256);
      } catch {
        return;
      }
      if (got.length === 0) return;
      this.take(got);
    }
  }

  private take(got: readonly Completion[]): void {
    for (const c of got) {
      if (c.op === 'remote-write') {
        const q = c.source === undefined ? undefined : this.rankOf[c.source];
        if (q !== undefined && c.data !== undefined) {
          const line = c.data >>> VALUE_BITS;
          // Five bits carry the line and there are Line.COUNT lines: a larger one would land on the next peer's.
          if (line >= Line.COUNT) {
            this.droppedSignals++;
            continue;
          }
          this.mirrors[q * Line.COUNT + line] = c.data & MASK;
          if (line === Line.ABORT) this.onAbort?.(q);
        }
      } else {
        this.completed(c.context);
      }
    }
  }

  private completed(context: unknown): void {
    this.outstanding--;
    const c = Number(context);
    if ((c & USER_OP) !== 0) this.userOutstanding--;
    if ((c & AWAITED_OP) !== 0) this.awaitedOutstanding--;
  }

  /** Whether peer `q`'s `line` has reached `value` (wrap-safe over the 27-bit counters). */
  reached(q: number, line: Line, value: number): boolean {
    return (((this.mirrors[q * Line.COUNT + line]! - (value & MASK)) << (32 - VALUE_BITS)) >> (32 - VALUE_BITS)) >= 0;
  }

  /** Progresses until peer `q`'s `line` reaches `value`. */
  waitLine(q: number, line: Line, value: number, ctx: WaitContext, what: string): void {
    if (this.reached(q, line, value)) return;
    this.waitUntil(() => this.reached(q, line, value), ctx, q, what);
  }

  private waitUntil(done: () => boolean, ctx: WaitContext, peer: number, what: string): void {
    // Spin only while every rank has a core; otherwise the spin takes the core a peer needs.
    const spinUntil = performance.now() + this.spinMs;
    do {
      this.progress();
      if (done()) return;
      ctx.checkAbort();
    } while (performance.now() < spinUntil);
    const deadline = deadlineOf(ctx.clock);
    // Then sleep in slices that double up to SLEEP_MAX_MS: over sockets
    // nothing wakes a sleeper when bytes arrive (progress is this thread's
    // own), so a slice bounds the latency it adds.
    let slice = SLEEP_FIRST_MS;
    for (;;) {
      this.progress();
      if (done()) return;
      // Over tcp this also probes the peers (watch()): a lost one ends the wait.
      ctx.checkAbort();
      const left = deadline - performance.now();
      if (left <= 0) throw new CollectiveError('ETIMEDOUT', ctx.late(peer, what, ctx.clock.timeoutMs) + this.refusalHint());
      this.ep.waitIncoming(Math.min(left, slice));
      slice = Math.min(slice * 2, SLEEP_MAX_MS);
    }
  }

  /** A peer holding another job secret never arrives: its refused connections are the only trace. */
  private refusalHint(): string {
    const n = this.ep.refusedConnections();
    return n === 0 ? '' : `; this process refused ${n} connection(s) that did not hold its job secret: do all processes of the job have the same COLLECTIVE_JOB_SECRET?`;
  }

  private watchAt = 0;
  private probeAllAt = 0;

  /**
   * Called by every wait of a communicator over tcp (its checkAbort), on
   * a peer of this process or another: applies incoming aborts and finds a
   * lost process. A peer whose process died sends nothing, and a wait for
   * it would end only at its deadline; an empty write to it fails as soon
   * as its connection is known lost, naming its address. Cheap between its
   * rounds.
   */
  watch(): void {
    const now = performance.now();
    if (now < this.watchAt) return;
    this.watchAt = now + 10;
    if (this.probeAllAt === 0) this.probeAllAt = now + PROBE_MS;
    if (now >= this.probeAllAt) {
      this.probeAllAt = now + PROBE_MS;
      for (let q = 0; q < this.fiAddr.length; q++) if (this.fiAddr[q]! >= 0) this.probe(q);
    }
    this.progress();
  }

  /** An empty write to a peer over a provider that can lose it; its completion (or error) comes through progress(). */
  private probe(peer: number): void {
    if (this.provider !== 'tcp' || this.fiAddr[peer] === undefined || this.fiAddr[peer]! < 0) return;
    try {
      this.ep.write({ mr: this.privateMr, offset: 0, length: 0, dest: this.fiAddr[peer]!, remoteOffset: 0, key: this.peerKeys[peer] ?? 0, context: peer });
      this.outstanding++;
    } catch {
      // A full queue already has operations that will report the peer.
    }
  }

  /** Scratch keys of the peers, for probes. */
  private peerKeys: number[] = [];

  setPeerKey(peer: number, key: number): void {
    this.peerKeys[peer] = key;
  }

  /**
   * Posts an RMA operation, retrying while queues are full (progress frees
   * them). `awaited`: a wait of this call needs its completion (operations
   * on user buffers and reads always do), so the target acknowledges it at
   * once instead of on its next message.
   */
  post(op: 'write' | 'read', peer: number, local: MemoryRegion, localOff: number, bytes: number, key: number, remoteOff: number, ctx: WaitContext, data?: number, awaited = false): void {
    const user = local !== this.privateMr && local !== this.scratchMr;
    const wait = user || awaited || op === 'read';
    const req = { mr: local, offset: localOff, length: bytes, dest: this.dest(peer), remoteOffset: remoteOff, key, context: peer | (user ? USER_OP : 0) | (wait ? AWAITED_OP : 0), awaited: wait };
    for (;;) {
      try {
        if (op === 'read') this.ep.read(req);
        else if (data === undefined) this.ep.write(req);
        else this.ep.writedata({ ...req, data });
        this.outstanding++;
        if (wait) this.awaitedOutstanding++;
        if (user) {
          this.userOutstanding++;
          this.lastUserPeer = peer;
        }
        return;
      } catch (e) {
        if ((e as TransportError).code !== 'EAGAIN') throw e;
      }
      // A full queue here or at the peer drains as both sides make progress.
      this.progress();
      ctx.checkAbort();
      if (performance.now() > deadlineOf(ctx.clock)) throw new CollectiveError('ETIMEDOUT', ctx.late(peer, 'did not make room for a transfer', ctx.clock.timeoutMs));
      this.ep.waitIncoming(1);
    }
  }

  /** One attempt to signal a peer, for paths that must not wait (abort): failures are ignored. */
  tryPost(peer: number, key: number, data: number): void {
    try {
      this.ep.writedata({ mr: this.privateMr, offset: 0, length: 0, dest: this.dest(peer), remoteOffset: 0, key, data, context: peer });
      this.outstanding++;
    } catch {
      // The peer also learns of the abort from its deadline or the shared block.
    }
  }

  /**
   * Waits until no posted operation reads or writes a user buffer, then
   * tells peers what landed here: this thread stops driving its sockets
   * when the call returns.
   */
  flushUser(ctx: WaitContext): void {
    if (this.userOutstanding > 0) this.waitUntil(() => this.userOutstanding === 0, ctx, this.lastUserPeer, 'did not complete a transfer');
    this.leave(ctx, true);
  }

  /**
   * The end of a call: what it queued goes to the kernel before the call
   * returns, since only this thread moves it and it may next wait on
   * something else (a peer in this process) that waits for a peer there.
   * `acks`: also the acknowledgements peers wait for.
   */
  leave(ctx: WaitContext, acks: boolean): void {
    if (!this.ep.flush(acks)) this.waitUntil(() => this.ep.flush(acks), ctx, this.lastUserPeer, 'did not take the rest of this call\'s messages');
  }

  /** Waits until every awaited operation (reads, user buffers, posts marked awaited) has completed. */
  flush(ctx: WaitContext, peer: number): void {
    if (this.awaitedOutstanding === 0) this.progress();
    if (this.awaitedOutstanding === 0) return;
    this.waitUntil(() => this.awaitedOutstanding === 0, ctx, peer, 'did not complete a transfer');
  }

  close(): void {
    // Transfers still on their way (a tcp write leaves after its call
    // returned) finish first, or fail, before their regions close.
    this.drain(() => this.outstanding > 0);
    for (const mr of this.userMrs) if (mr.isOpen) mr.close();
    this.userMrs.clear();
    this.scratchMr.close();
    this.privateMr.close();
    try {
      this.progress();
    } catch {
      // As above.
    }
    this.ep.close();
    this.domain.close();
  }
}
