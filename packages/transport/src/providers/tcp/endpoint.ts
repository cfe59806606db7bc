import { EndpointField, MrField, MrState } from '../../control_layout.js';
import { fail, TransportError } from '../../errors.js';
import { MrAccess } from '../../fabric/access.js';
import { keyMatches } from '../../mr_key.js';
import type { EndpointAddress, EndpointImpl, Incoming, RmaRequest, TxCompletion } from '../../fabric/provider.js';
import { tables } from '../../pool_tables.js';
import type { Pool } from '../../pool.js';
import { ShmMemoryRegion } from '../shm/memory_region.js';
import { MAX_TAGGED, RecState, TCP_CLOSING, TCP_ENDPOINT } from './layout.js';
import { ListenerLink } from './listener_link.js';
import { resolveLocal, resolveTarget } from './mr_check.js';
import { Pair, type PairOwner, type RegionRef, type Sink } from './pair.js';
import { debugLine, debugOn } from './debug_log.js';
import { describePeer, type OpRecord, Reason, REFUSALS_MAX, reasonError, refusalText } from './reasons.js';
import { emptyHeader, FLAG_DATA, FLAG_PROMPT, type Header, Op, type Reach } from './wire.js';

/** A record being filled: not yet visible to the listener as an endpoint. */
const TCP_OPENING = 0x7404;
/** Operations posted and not completed; beyond, posts answer EAGAIN. */
const OPS_MAX = 1024;
/** Incoming work not yet taken by the endpoint's user; beyond, sockets are not read (the senders wait). */
const INBOX_MAX = 4096;
/** Bytes of tagged messages held for the endpoint's user; beyond, sockets are not read either. */
const INBOX_BYTES_MAX = 4 << 20;
/**
 * Messages queued on one socket; beyond, that socket is not read until the
 * peer reads what it asked for. A peer's outstanding operations are capped
 * by its own OPS_MAX, so the job's own peers never come near this: only a
 * peer that asks and does not read (a flood of read requests) is held here,
 * and it waits instead of this process's memory growing.
 */
const QUEUED_READ_MAX = 4 * OPS_MAX;
/** A sleep between progress rounds never exceeds this: nobody else reads this endpoint's sockets. */
const SLEEP_MAX_MS = 1;

interface Op_ extends OpRecord {
  token: number;
  opId: number;
  done: boolean;
  /** a read's destination */
  into?: { key: number; slot: number; start: number };
}

interface Held extends Incoming {
  released: boolean;
}

const NO_BYTES = new Uint8Array(0);

/** Peers by listener address and identity, and endpoint slot and generation. */
const pairKey = (r: Pick<Reach, 'host' | 'port' | 'process' | 'slot' | 'gen'>): string => `${r.host}:${r.port}/${r.process}/${r.slot}.${r.gen}`;

/** Wrap-safe "`id` is at or before `ack`" over uint32 operation ids. */
const covered = (id: number, ack: number): boolean => (ack - id) >>> 0 < 0x80000000;

/**
 * A socket endpoint as its thread drives it (progress in the calling
 * thread, like Open MPI's tcp BTL): one connection per peer endpoint,
 * made through the process's listener thread and then read and written
 * only here, with non-blocking system calls inside pollCompletions and
 * waitIncoming. Writes and sends complete when the target acknowledges
 * them (acknowledgements ride on the target's next message, or go alone
 * when the target has nothing to say); a read completes when its bytes
 * have landed. The target checks every key, range and access against its
 * own tables; a refused operation completes with EACCES at its initiator,
 * which is told that it was refused and not why (the target logs why).
 */
export class TcpEndpoint implements EndpointImpl, PairOwner {
  readonly address: EndpointAddress;
  private closed = false;
  private readonly pairs = new Map<string, Pair>();
  /** the same, by the address vector's entry object: no key string per post */
  private readonly byAddress = new WeakMap<EndpointAddress, Pair>();
  private readonly list: Pair[] = [];
  /** every record this endpoint knows, so a scan adopts only new ones */
  private readonly known = new Set<number>();
  private seenEpoch = -1;
  private readonly ops = new Map<Pair, { unacked: Op_[]; reads: Map<number, Op_> }>();
  private opCount = 0;
  private done: TxCompletion[] = [];
  private inbox: Held[] = [];
  /** payload bytes of the tagged messages in the inbox not yet released */
  private inboxBytes = 0;
  private readonly sleepWord = new Int32Array(new SharedArrayBuffer(4));
  private readonly domain: number;

  private constructor(
    readonly pool: Pool,
    readonly slot: number,
    readonly gen: number,
    private readonly link: ListenerLink,
  ) {
    this.domain = tables(pool).endpoints.get(slot, EndpointField.DOMAIN);
    this.address = { provider: 'tcp', pool: pool.id, identity: pool.identity, slot, gen, host: link.host, port: link.port, process: link.process, unix: link.unix, hostId: link.hostId };
  }

  static open(pool: Pool, domainToken: number): TcpEndpoint {
    const link = ListenerLink.join(pool);
    const { endpoints } = tables(pool);
    let rec: { slot: number; gen: number };
    try {
      rec = pool.locked(() => {
        const r = endpoints.claimLocked(TCP_OPENING) ?? fail('ENOMEM', `all ${endpoints.capacity} endpoint records are in use; close endpoints first`);
        endpoints.set(r.slot, EndpointField.MAILBOX_PAGES, 0);
        endpoints.set(r.slot, EndpointField.DOMAIN, domainToken);
        return r;
      });
    } catch (e) {
      link.leave();
      throw e;
    }
    // Visible to the listener (which accepts connections for it) only once ready.
    endpoints.set(rec.slot, EndpointField.STATE, TCP_ENDPOINT);
    return new TcpEndpoint(pool, rec.slot, rec.gen, link);
  }

  private checkOpen(): void {
    if (this.closed) fail('EINVAL', 'endpoint is closed');
  }

  private pairOf(remote: EndpointAddress): Pair {
    const known = this.byAddress.get(remote);
    if (known) return known;
    const p = this.pairFor(remote);
    this.byAddress.set(remote, p);
    return p;
  }

  private pairFor(remote: EndpointAddress): Pair {
    if (remote.provider !== 'tcp' || typeof remote.host !== 'string' || typeof remote.port !== 'number' || typeof remote.process !== 'string') {
      fail('EINVAL', 'the remote address is not a tcp endpoint address');
    }
    let p = this.pairs.get(pairKey(remote as Reach));
    if (!p) {
      p = this.addPair(remote as Reach);
      const rec = this.link.request(this.slot, this.gen, { host: remote.host, port: remote.port, unix: remote.unix ?? '', hostId: remote.hostId ?? '', process: remote.process, slot: remote.slot, gen: remote.gen });
      this.known.add(rec);
      p.records.add(rec);
      p.rec = rec;
    }
    return p;
  }

  private addPair(peer: Reach): Pair {
    const p = new Pair(this, peer.process, peer.slot, peer.gen, describePeer(peer.host, peer.port, peer.process));
    this.pairs.set(pairKey(peer), p);
    this.list.push(p);
    this.ops.set(p, { unacked: [], reads: new Map() });
    return p;
  }

  /** The local side's checks, as shm makes them; a failure completes with an error without reaching the peer. */
  private checkLocal(req: RmaRequest, need: number): TransportError | undefined {
    const mr = req.local;
    if (!(mr instanceof ShmMemoryRegion) || mr.pool !== this.pool) fail('EINVAL', 'op.mr must be a memory region registered in this process');
    const { mrs } = tables(this.pool);
    if (mrs.get(mr.slot, MrField.STATE) !== MrState.LIVE || !keyMatches(mrs, mr.slot, mr.key)) {
      return new TransportError('ECANCELED', 'local memory region was closed');
    }
    if ((mrs.get(mr.slot, MrField.ACCESS) & need) !== need) {
      return new TransportError('EACCES', `local memory region lacks ${need === MrAccess.write ? 'write' : 'read'} access`);
    }
    if (!(req.localOffset >= 0 && req.localOffset + req.length <= mr.length)) {
      return new TransportError('EACCES', `local range [${req.localOffset}, ${req.localOffset + req.length}) is outside the ${mr.length}-byte region`);
    }
    return undefined;
  }

  private checkRoom(): void {
    if (this.opCount >= OPS_MAX) fail('EAGAIN', `${OPS_MAX} operations are in flight on this socket endpoint; read completions and retry`);
  }

  /** What names an operation to pair `p` in an error reported at its post. */
  private recordOf(p: Pair, op: OpRecord['op'], key: number, remoteOffset: number, length: number): OpRecord {
    return { op, key, remoteOffset, length, peer: p.label, remoteSlot: p.peerSlot, remoteGen: p.peerGen };
  }

  private track(p: Pair, token: number, kind: OpRecord['op'], key: number, remoteOffset: number, length: number, into?: Op_['into']): Op_ {
    // A literal, not recordOf() spread: this runs on every post.
    const op: Op_ = { op: kind, key, remoteOffset, length, token, opId: p.takeOpId(), done: false, peer: p.label, remoteSlot: p.peerSlot, remoteGen: p.peerGen, into };
    const q = this.ops.get(p)!;
    if (kind === 'read') q.reads.set(op.opId, op);
    else q.unacked.push(op);
    this.opCount++;
    return op;
  }

  private readonly hdrOut = emptyHeader();

  /** The header of a new message (one object, filled per message: send() encodes it at once). */
  private header(op: Op, flags: number, key: number, offset: number, length: number, data: number, tag: number, opId: number, status: number, total: number): Header {
    const h = this.hdrOut;
    h.op = op;
    h.flags = flags;
    h.ack = 0;
    h.key = key;
    h.offset = offset;
    h.length = length;
    h.data = data;
    h.tag = tag;
    h.opId = opId;
    h.status = status;
    h.total = total;
    return h;
  }

  private finish(op: Op_, reason: Reason, arg0 = 0, arg1 = 0, detail = ''): void {
    if (op.done) return;
    op.done = true;
    this.opCount--;
    this.done.push(reason === Reason.OK ? { token: op.token } : { token: op.token, error: reasonError(reason, arg0, arg1, detail, op) });
  }

  private refuse(token: number, error: TransportError): void {
    this.done.push({ token, error });
  }

  private deadError(p: Pair, what: OpRecord): TransportError {
    return reasonError(p.deadReason, p.deadArgs[0], p.deadArgs[1], p.deadDetail, what);
  }

  postWrite(req: RmaRequest, token: number): void {
    this.postRma(Op.WRITE, req, token, MrAccess.write);
  }

  postRead(req: RmaRequest, token: number): void {
    this.postRma(Op.READ_REQUEST, req, token, MrAccess.read);
  }

  private postRma(kind: Op.WRITE | Op.READ_REQUEST, req: RmaRequest, token: number, need: number): void {
    this.checkOpen();
    const p = this.pairOf(req.remote);
    const err = this.checkLocal(req, need);
    if (err) return this.refuse(token, err);
    const what = () => this.recordOf(p, kind === Op.WRITE ? 'write' : 'read', req.key, req.remoteOffset, req.length);
    if (p.state === 'dead') return this.refuse(token, this.deadError(p, what()));
    this.checkRoom();
    const mr = req.local as ShmMemoryRegion;
    const local = resolveLocal(this.pool, mr.key, req.localOffset);
    if ('reason' in local) return this.refuse(token, reasonError(local.reason, 0, 0, '', what()));
    if (kind === Op.WRITE) {
      const op = this.track(p, token, 'write', req.key, req.remoteOffset, req.length);
      const flags = (req.data !== undefined ? FLAG_DATA : 0) | (req.awaited ? FLAG_PROMPT : 0);
      p.send(this.header(Op.WRITE, flags, req.key, req.remoteOffset, req.length, (req.data ?? 0) >>> 0, 0, op.opId, 0, req.length), { key: mr.key, slot: local.slot, at: local.start, local: true, win: 0 });
    } else {
      const op = this.track(p, token, 'read', req.key, req.remoteOffset, req.length, { key: mr.key, slot: local.slot, start: local.start });
      p.send(this.header(Op.READ_REQUEST, 0, req.key, req.remoteOffset, 0, 0, 0, op.opId, 0, req.length));
    }
    p.pumpOut();
  }

  postSend(remote: EndpointAddress, tag: number, payload: Uint8Array, token: number): void {
    this.checkOpen();
    const p = this.pairOf(remote);
    if (payload.length > MAX_TAGGED) fail('EINVAL', `message of ${payload.length} bytes exceeds the ${MAX_TAGGED}-byte limit for tagged messages; use RMA for bulk data`);
    if (p.state === 'dead') return this.refuse(token, this.deadError(p, this.recordOf(p, 'send', 0, 0, payload.length)));
    this.checkRoom();
    const op = this.track(p, token, 'send', 0, 0, payload.length);
    // Copied: the caller may reuse its buffer as soon as this returns.
    p.send(this.header(Op.SEND, 0, 0, 0, payload.length, 0, tag >>> 0, op.opId, 0, payload.length), undefined, Buffer.from(payload));
    p.pumpOut();
  }

  // ---- progress ------------------------------------------------------------

  /** One round: new connections, then every open socket read and written. */
  private progress(): void {
    if (this.closed) return;
    if (!this.link.alive()) {
      // The listener's sockets are gone with it: their descriptors must not be touched again.
      for (const p of this.list) p.die(Reason.PROXY_STOPPED, '');
      return;
    }
    const epoch = this.link.adoptEpoch;
    if (epoch !== this.seenEpoch) {
      this.seenEpoch = epoch;
      this.adopt();
    }
    const reading = this.inbox.length < INBOX_MAX && this.inboxBytes < INBOX_BYTES_MAX;
    for (let i = 0; i < this.list.length; i++) {
      const p = this.list[i]!;
      if (p.state === 'connecting') this.connecting(p);
      if (p.state !== 'open') continue;
      if (reading && p.queued < QUEUED_READ_MAX) p.pumpIn();
      p.pumpOut();
      // Acknowledgements ride on the next message, unless one is awaited or many are owed.
      if (p.ackDue) p.flushAck();
    }
  }

  /** Connections peers made to this endpoint. */
  private adopt(): void {
    for (const rec of this.link.adoptable(this.slot, this.gen, this.known)) {
      this.known.add(rec);
      const r = this.link.ready(rec);
      let p = this.pairs.get(pairKey(r.peer));
      if (p && p.state !== 'connecting') {
        // One connection per pair of endpoints keeps their order: a second is refused.
        this.releaseRecord(rec);
        continue;
      }
      p ??= this.addPair(r.peer);
      p.records.add(rec);
      p.open(r.fd, rec, r.unix);
    }
  }

  private connecting(p: Pair): void {
    let st = this.link.state(p.rec);
    if (st === RecState.MERGED) {
      const into = this.link.mergedInto(p.rec);
      p.rec = into;
      this.known.add(into);
      p.records.add(into);
      st = this.link.state(into);
    }
    if (st === RecState.READY) {
      const r = this.link.ready(p.rec);
      p.open(r.fd, p.rec, r.unix);
    } else if (st === RecState.FAILED) {
      const f = this.link.failure(p.rec);
      p.die(f.reason, f.detail, f.arg0, f.arg1);
    } else if (!this.link.alive(true)) {
      p.die(Reason.PROXY_STOPPED, '');
    }
  }

  // ---- PairOwner: incoming messages -----------------------------------------

  begin(p: Pair, h: Header): Sink {
    const sink: Sink = { got: 0, reason: Reason.OK, arg: 0 };
    switch (h.op) {
      case Op.WRITE: {
        const hit = resolveTarget(this.pool, h.key, this.domain, h.offset, h.length, MrAccess.remoteWrite);
        if ('reason' in hit) {
          sink.reason = hit.reason;
          sink.arg = hit.arg;
        } else sink.region = { key: h.key, slot: hit.slot, at: hit.start, local: false, win: hit.win };
        return sink;
      }
      case Op.READ_RESPONSE: {
        const op = this.ops.get(p)!.reads.get(h.opId);
        if (!op || h.length !== op.length) {
          p.die(Reason.PROTOCOL, `a read response for unknown operation ${h.opId}`);
          return sink;
        }
        sink.region = { key: op.into!.key, slot: op.into!.slot, at: op.into!.start, local: true, win: 0 };
        return sink;
      }
      case Op.SEND:
        if (h.length > MAX_TAGGED) p.die(Reason.PROTOCOL, `a tagged message of ${h.length} bytes (the limit is ${MAX_TAGGED})`);
        else sink.bytes = Buffer.allocUnsafe(h.length);
        return sink;
      case Op.READ_REQUEST:
      case Op.ACK:
        if (h.length !== 0) p.die(Reason.PROTOCOL, `a ${h.op === Op.ACK ? 'acknowledgement' : 'read request'} with ${h.length} payload bytes`);
        return sink;
      default:
        p.die(Reason.PROTOCOL, `unknown message kind ${h.op as number}`);
        return sink;
    }
  }

  end(p: Pair, h: Header, sink: Sink): void {
    switch (h.op) {
      case Op.WRITE:
        if (sink.reason === Reason.OK) {
          this.countRemote(EndpointField.REMOTE_WRITES);
          if (h.flags & FLAG_DATA) this.deliver({ kind: 'remote-write', source: p.peerSlot, sourceProcess: p.peerProcess, tag: 0, payload: NO_BYTES, length: h.length, data: h.data });
          p.applyDone(h.opId, (h.flags & FLAG_PROMPT) !== 0);
        } else this.refusePeer(p, h.opId, sink.reason, sink.arg, 'write', h.key, h.offset, h.length);
        return;
      case Op.SEND:
        this.deliver({ kind: 'tagged', source: p.peerSlot, sourceProcess: p.peerProcess, tag: h.tag, payload: sink.bytes!, length: h.length, data: 0 });
        // A tagged send is a control message: its sender usually waits for it.
        p.applyDone(h.opId, true);
        return;
      case Op.READ_REQUEST: {
        const hit = resolveTarget(this.pool, h.key, this.domain, h.offset, h.total, MrAccess.remoteRead);
        if ('reason' in hit) {
          this.refusePeer(p, h.opId, hit.reason, hit.arg, 'read', h.key, h.offset, h.total);
          return;
        }
        this.countRemote(EndpointField.REMOTE_READS);
        p.send(this.header(Op.READ_RESPONSE, 0, 0, 0, h.total, 0, 0, h.opId, 0, h.total), { key: h.key, slot: hit.slot, at: hit.start, local: false, win: hit.win });
        p.pumpOut();
        return;
      }
      case Op.READ_RESPONSE: {
        const q = this.ops.get(p)!;
        const op = q.reads.get(h.opId);
        if (!op) return;
        q.reads.delete(h.opId);
        this.finish(op, sink.reason);
        return;
      }
      case Op.ACK:
        if (h.status === Reason.REFUSED) this.refused(p, h.opId, Reason.REFUSED, 0);
        else if (h.status !== Reason.OK) p.die(Reason.PROTOCOL, `an acknowledgement with status ${h.status}`);
        return;
    }
  }

  /**
   * Answers the peer's operation `opId` with REFUSED and nothing else: no
   * reason, no region length (a key and size oracle otherwise). Why goes to
   * this process's log. A peer refused REFUSALS_MAX times on this
   * connection is cut off. `pump` is false inside the send loop (a message
   * dropped there), which sends the answer itself.
   */
  private refusePeer(p: Pair, opId: number, reason: Reason, arg: number, op: 'write' | 'read', key: number, offset: number, length: number, pump = true): void {
    if (debugOn) debugLine(`refused the ${op} of ${length} bytes at offset ${offset} of key ${key} from ${p.label}: ${refusalText(reason, arg)}`, `endpoint ${this.slot}`);
    p.send(this.header(Op.ACK, 0, 0, 0, 0, 0, 0, opId, Reason.REFUSED, 0));
    if (pump) p.pumpOut();
    if (++p.refusals >= REFUSALS_MAX) {
      if (debugOn) debugLine(`closed the connection to ${p.label}: ${REFUSALS_MAX} of its operations were refused`, `endpoint ${this.slot}`);
      p.die(Reason.TOO_MANY_REFUSED, '');
    }
  }

  /** The target refused operation `opId`. */
  private refused(p: Pair, opId: number, reason: Reason, arg: number): void {
    const q = this.ops.get(p)!;
    const read = q.reads.get(opId);
    if (read) {
      q.reads.delete(opId);
      this.finish(read, reason, arg);
      return;
    }
    const op = q.unacked.find((o) => o.opId === opId);
    if (op) this.finish(op, reason, arg);
  }

  acked(p: Pair, ack: number): void {
    const q = this.ops.get(p)!.unacked;
    let n = 0;
    while (n < q.length && covered(q[n]!.opId, ack)) this.finish(q[n++]!, Reason.OK);
    if (n > 0) q.splice(0, n);
  }

  dropped(p: Pair, opId: number, reason: Reason, region: RegionRef, length: number): void {
    if (region.local) {
      this.refused(p, opId, reason, 0);
      return;
    }
    // The answer to the peer's read: its region went away before a byte of it left.
    const offset = region.at - tables(this.pool).mrs.get(region.slot, MrField.OFFSET);
    this.refusePeer(p, opId, reason, 0, 'read', region.key, offset, length, false);
  }

  died(p: Pair): void {
    const q = this.ops.get(p)!;
    for (const op of q.unacked) this.finish(op, p.deadReason, p.deadArgs[0], p.deadArgs[1], p.deadDetail);
    for (const op of q.reads.values()) this.finish(op, p.deadReason, p.deadArgs[0], p.deadArgs[1], p.deadDetail);
    q.unacked.length = 0;
    q.reads.clear();
    // The listener closes the socket; this thread never touches the descriptor again.
    for (const rec of p.records) this.releaseRecord(rec);
    p.records.clear();
  }

  /** Hands a record back; forgotten here, so a later connection in the same record is adopted. */
  private releaseRecord(rec: number): void {
    this.link.release(rec);
    this.known.delete(rec);
  }

  private countRemote(field: EndpointField): void {
    const word = tables(this.pool).endpoints.addr(this.slot, field);
    Atomics.add(this.pool.ctl, word, 1);
    Atomics.notify(this.pool.ctl, word);
  }

  private deliver(item: Omit<Held, 'released' | 'release'>): void {
    const held = item as Held;
    held.released = false;
    const bytes = item.payload.length;
    this.inboxBytes += bytes;
    held.release = () => {
      if (held.released) return;
      held.released = true;
      this.inboxBytes -= bytes;
    };
    this.inbox.push(held);
  }

  // ---- EndpointImpl ---------------------------------------------------------

  refusedConnections(): number {
    return this.link.refusals;
  }

  pollCompletions(): TxCompletion[] {
    this.progress();
    if (this.done.length === 0) return [];
    const out = this.done;
    this.done = [];
    return out;
  }

  poll(): Incoming[] {
    this.checkOpen();
    if (this.inbox.some((h) => h.released)) this.inbox = this.inbox.filter((h) => !h.released);
    return this.inbox.slice();
  }

  /** Hands queued messages to the kernel (and, with `acks`, tells quiet peers what landed) before this thread stops driving its sockets. */
  flush(acks = true): boolean {
    if (this.closed) return true;
    let idle = true;
    for (const p of this.list) {
      if (acks) p.flushAck();
      else p.pumpOut();
      if (!p.drained) idle = false;
    }
    return idle;
  }

  /**
   * One progress round, then a sleep of at most `timeoutMs` (and never
   * more than SLEEP_MAX_MS: nothing wakes this thread when bytes arrive,
   * and peers wait for what it reads and acknowledges). The caller's loop
   * holds the deadline.
   */
  waitIncoming(timeoutMs: number): void {
    this.progress();
    if (this.done.length > 0 || this.inbox.some((h) => !h.released)) return;
    this.flush();
    Atomics.wait(this.sleepWord, 0, 0, Math.max(0, Math.min(timeoutMs, SLEEP_MAX_MS)));
  }

  /** Every pair ends: what is in flight fails with ECANCELED, the sockets go back to the listener. */
  cancel(): void {
    for (const p of this.list) p.die(Reason.CANCELED, 'cancelled by this endpoint');
  }

  remoteCounter(kind: 'writes' | 'reads'): { ctl: Int32Array; index: number } {
    const index = tables(this.pool).endpoints.addr(this.slot, kind === 'writes' ? EndpointField.REMOTE_WRITES : EndpointField.REMOTE_READS);
    return { ctl: this.pool.ctl, index };
  }

  close(): void {
    this.checkOpen();
    this.flush();
    this.closed = true;
    const { endpoints } = tables(this.pool);
    // Closing first, so the listener hands it nothing new.
    endpoints.set(this.slot, EndpointField.STATE, TCP_CLOSING);
    for (const p of this.list) for (const rec of p.records) this.releaseRecord(rec);
    this.pool.locked(() => endpoints.freeLocked(this.slot));
    this.link.leave();
  }
}
