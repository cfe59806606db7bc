import { PAGE_SIZE } from '../../constants.js';
import { EndpointField, MrField, MrState } from '../../control_layout.js';
import { fail, TransportError } from '../../errors.js';
import { MrAccess } from '../../fabric/access.js';
import type { EndpointAddress, EndpointImpl, Incoming, RmaRequest, TxCompletion } from '../../fabric/provider.js';
import { drainInflight } from '../../inflight_guard.js';
import { allocatePagesLocked, scrubAndFreePagesLocked } from '../../page_allocator.js';
import { tables } from '../../pool_tables.js';
import type { Pool } from '../../pool.js';
import { ShmMemoryRegion } from '../shm/memory_region.js';
import {
  C, CQ_BYTE, CQ_ENTRIES, D, E, ENDPOINT_PAGES, FLAG_DATA, getText, I, IN_BYTE, IN_ENTRIES, InKind, MAX_TAGGED, PEER_MAX, ringPlace, RX_BYTE, SQ_BYTE, SQ_ENTRIES, SqOp,
  TCP_CLOSING, TCP_ENDPOINT, TX_BYTE, TX_BYTES,
} from './layout.js';
import { ProxyLink } from './proxy_link.js';
import { describePeer, type OpRecord, Reason, reasonError } from './reasons.js';

/** A record being filled: not yet visible to the proxy as an endpoint. */
const TCP_OPENING = 0x7404;
/** Incoming work taken off the ring but not yet released (unexpected tagged messages wait here). */
const HELD_MAX = 4 * IN_ENTRIES;
const HI = 2 ** 32;

interface Peer {
  bytes: Uint8Array;
  label: string;
}

interface Held extends Incoming {
  released: boolean;
}

/**
 * A tcp endpoint as its device thread sees it: posts go into a submission
 * ring in pool memory and wake the process's proxy thread; completions and
 * incoming work come back through rings of the same block, with the
 * endpoint's doorbell word to sleep on. Nothing here touches a socket.
 */
export class TcpEndpoint implements EndpointImpl {
  readonly address: EndpointAddress;
  private readonly w: Int32Array;
  private readonly u8: Uint8Array;
  private readonly base: number;
  private closed = false;
  /** set once the proxy is found dead: everything fails from then on */
  private broken = false;
  /** posts refused before reaching the proxy: completed at the next poll */
  private readonly local: TxCompletion[] = [];
  /** operations handed to the proxy, by the token word written in the ring */
  private readonly ops = new Map<number, OpRecord & { token: number }>();
  private held: Held[] = [];
  private readonly peers = new WeakMap<EndpointAddress, Peer>();

  private constructor(
    readonly pool: Pool,
    readonly slot: number,
    readonly gen: number,
    private readonly link: ProxyLink,
  ) {
    const { endpoints } = tables(pool);
    this.base = endpoints.get(slot, EndpointField.MAILBOX_PAGE) * PAGE_SIZE;
    this.w = new Int32Array(pool.memory.buffer, this.base, (ENDPOINT_PAGES * PAGE_SIZE) / 4);
    this.u8 = new Uint8Array(pool.memory.buffer);
    this.address = { provider: 'tcp', pool: pool.id, slot, gen, host: link.host, port: link.port, process: link.process };
  }

  static open(pool: Pool, domainToken: number): TcpEndpoint {
    const link = ProxyLink.join(pool);
    const { endpoints } = tables(pool);
    let rec: { slot: number; gen: number };
    try {
      rec = pool.locked(() => {
        const r = endpoints.claimLocked(TCP_OPENING) ?? fail('ENOMEM', `all ${endpoints.capacity} endpoint records are in use; close endpoints first`);
        try {
          endpoints.set(r.slot, EndpointField.MAILBOX_PAGE, allocatePagesLocked(pool, ENDPOINT_PAGES, -(r.slot + 1)));
        } catch (e) {
          endpoints.freeLocked(r.slot);
          throw e;
        }
        endpoints.set(r.slot, EndpointField.MAILBOX_PAGES, ENDPOINT_PAGES);
        endpoints.set(r.slot, EndpointField.DOMAIN, domainToken);
        return r;
      });
    } catch (e) {
      link.leave();
      throw e;
    }
    const page = endpoints.get(rec.slot, EndpointField.MAILBOX_PAGE);
    pool.u8(page * PAGE_SIZE, ENDPOINT_PAGES * PAGE_SIZE).fill(0);
    // Visible to the proxy only once the block is ready.
    endpoints.set(rec.slot, EndpointField.STATE, TCP_ENDPOINT);
    link.endpointsChanged();
    return new TcpEndpoint(pool, rec.slot, rec.gen, link);
  }

  private checkOpen(): void {
    if (this.closed) fail('EINVAL', 'endpoint is closed');
  }

  private peer(remote: EndpointAddress): Peer {
    let p = this.peers.get(remote);
    if (!p) {
      if (remote.provider !== 'tcp' || typeof remote.host !== 'string' || typeof remote.port !== 'number' || typeof remote.process !== 'string') {
        fail('EINVAL', 'the remote address is not a tcp endpoint address');
      }
      const bytes = new TextEncoder().encode(`${remote.host}|${remote.port}|${remote.process}`);
      if (bytes.length > PEER_MAX) fail('EINVAL', `tcp address ${remote.host}:${remote.port} (${remote.process}) is longer than ${PEER_MAX} bytes`);
      p = { bytes, label: describePeer(remote.host, remote.port, remote.process) };
      this.peers.set(remote, p);
    }
    return p;
  }

  /** The local side's checks, as shm makes them; a failure completes with an error without reaching the proxy. */
  private checkLocal(req: RmaRequest, need: number): TransportError | undefined {
    const mr = req.local;
    if (!(mr instanceof ShmMemoryRegion) || mr.pool !== this.pool) fail('EINVAL', 'op.mr must be a memory region registered in this process');
    const { mrs } = tables(this.pool);
    if (mrs.get(mr.slot, MrField.STATE) !== MrState.LIVE || mrs.get(mr.slot, MrField.GEN) * mrs.capacity + mr.slot !== mr.key) {
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
    if (this.ops.size >= CQ_ENTRIES) fail('EAGAIN', `${CQ_ENTRIES} operations are in flight on this tcp endpoint; read completions and retry`);
  }

  private refuse(token: number, error: TransportError): void {
    this.local.push({ token, error });
  }

  private brokenError(): TransportError {
    return new TransportError('EIO', 'the tcp proxy thread of this process stopped; close this endpoint and open a new one');
  }

  postWrite(req: RmaRequest, token: number): void {
    this.post(SqOp.WRITE, req, token, MrAccess.write);
  }

  postRead(req: RmaRequest, token: number): void {
    this.post(SqOp.READ, req, token, MrAccess.read);
  }

  private post(op: SqOp, req: RmaRequest, token: number, need: number): void {
    this.checkOpen();
    const peer = this.peer(req.remote);
    if (this.broken) return this.refuse(token, this.brokenError());
    const err = this.checkLocal(req, need);
    if (err) return this.refuse(token, err);
    this.checkRoom();
    const at = this.claimSq();
    const w = this.w;
    const mr = req.local as ShmMemoryRegion;
    w[at + D.OP] = op;
    w[at + D.FLAGS] = req.data !== undefined ? FLAG_DATA : 0;
    w[at + D.LKEY_LO] = mr.key % HI;
    w[at + D.LKEY_HI] = Math.floor(mr.key / HI);
    w[at + D.LOFF] = req.localOffset;
    w[at + D.LEN] = req.length;
    w[at + D.RKEY_LO] = req.key % HI;
    w[at + D.RKEY_HI] = Math.floor(req.key / HI);
    w[at + D.ROFF_LO] = req.remoteOffset % HI;
    w[at + D.ROFF_HI] = Math.floor(req.remoteOffset / HI);
    w[at + D.DATA] = (req.data ?? 0) | 0;
    w[at + D.TAG] = 0;
    this.publish(at, token, req.remote, peer, { op: op === SqOp.WRITE ? 'write' : 'read', key: req.key, remoteOffset: req.remoteOffset, length: req.length });
  }

  postSend(remote: EndpointAddress, tag: number, payload: Uint8Array, token: number): void {
    this.checkOpen();
    const peer = this.peer(remote);
    if (payload.length > MAX_TAGGED) fail('EINVAL', `message of ${payload.length} bytes exceeds the ${MAX_TAGGED}-byte limit for tagged messages; use RMA for bulk data`);
    if (this.broken) return this.refuse(token, this.brokenError());
    this.checkRoom();
    const w = this.w;
    const place = ringPlace(Atomics.load(w, E.TX_HEAD) >>> 0, Atomics.load(w, E.TX_TAIL) >>> 0, payload.length, TX_BYTES);
    if (!place) fail('EAGAIN', 'the tcp proxy has not taken earlier tagged messages yet; read completions and retry');
    this.u8.set(payload, this.base + TX_BYTE + place.pos);
    Atomics.store(w, E.TX_TAIL, place.end | 0);
    const at = this.claimSq();
    w[at + D.OP] = SqOp.SEND;
    w[at + D.FLAGS] = 0;
    w[at + D.LEN] = payload.length;
    w[at + D.TAG] = tag | 0;
    w[at + D.TX_POS] = place.pos;
    w[at + D.TX_END] = place.end | 0;
    this.publish(at, token, remote, peer, { op: 'send', key: 0, remoteOffset: 0, length: payload.length });
  }

  /** Word index of the next submission entry; the ring cannot be full while ops.size < CQ_ENTRIES. */
  private claimSq(): number {
    const tail = Atomics.load(this.w, E.SQ_TAIL) >>> 0;
    return SQ_BYTE / 4 + (tail % SQ_ENTRIES) * D.WORDS;
  }

  private publish(at: number, token: number, remote: EndpointAddress, peer: Peer, what: Pick<OpRecord, 'op' | 'key' | 'remoteOffset' | 'length'>): void {
    const w = this.w;
    w[at + D.TOKEN] = token;
    w[at + D.RSLOT] = remote.slot;
    w[at + D.RGEN] = remote.gen;
    w[at + D.PEER_LEN] = peer.bytes.length;
    this.u8.set(peer.bytes, this.base + (at + D.PEER) * 4);
    this.ops.set(token | 0, { ...what, token, peer: peer.label, remoteSlot: remote.slot, remoteGen: remote.gen });
    Atomics.store(w, E.SQ_TAIL, (Atomics.load(w, E.SQ_TAIL) + 1) | 0);
    this.link.ring();
  }

  pollCompletions(): TxCompletion[] {
    const out = this.local.splice(0);
    const w = this.w;
    const head = Atomics.load(w, E.CQ_HEAD) >>> 0;
    const tail = Atomics.load(w, E.CQ_TAIL) >>> 0;
    for (let h = head; h !== tail; h = (h + 1) >>> 0) {
      const at = CQ_BYTE / 4 + (h % CQ_ENTRIES) * C.WORDS;
      const rec = this.ops.get(w[at + C.TOKEN]!);
      if (!rec) continue;
      this.ops.delete(w[at + C.TOKEN]!);
      const reason = w[at + C.REASON]! as Reason;
      if (reason === Reason.OK) {
        out.push({ token: rec.token });
      } else {
        const detail = getText(this.u8, this.base + (at + C.DETAIL) * 4, w[at + C.DETAIL_LEN]!);
        out.push({ token: rec.token, error: reasonError(reason, w[at + C.ARG0]! >>> 0, w[at + C.ARG1]! >>> 0, detail, rec) });
      }
    }
    if (head !== tail) Atomics.store(w, E.CQ_HEAD, tail | 0);
    else if (this.ops.size > 0 && !this.link.alive()) this.failAll(out);
    return out;
  }

  /** The proxy is gone: nothing in flight will ever complete, so everything fails now. */
  private failAll(out: TxCompletion[]): void {
    this.broken = true;
    for (const rec of this.ops.values()) out.push({ token: rec.token, error: reasonError(Reason.PROXY_STOPPED, 0, 0, '', rec) });
    this.ops.clear();
  }

  poll(): Incoming[] {
    this.checkOpen();
    if (this.held.some((h) => h.released)) this.held = this.held.filter((h) => !h.released);
    const w = this.w;
    let head = Atomics.load(w, E.IN_HEAD) >>> 0;
    const tail = Atomics.load(w, E.IN_TAIL) >>> 0;
    const took = head !== tail;
    while (head !== tail && this.held.length < HELD_MAX) {
      const at = IN_BYTE / 4 + (head % IN_ENTRIES) * I.WORDS;
      const kind = w[at + I.KIND] === InKind.TAGGED ? 'tagged' : 'remote-write';
      const length = w[at + I.LEN]! >>> 0;
      const pos = this.base + RX_BYTE + (w[at + I.RX_POS]! >>> 0);
      const item: Held = {
        kind,
        source: w[at + I.SRC_SLOT]!,
        sourceProcess: getText(this.u8, this.base + (at + I.PROCESS) * 4, w[at + I.PROCESS_LEN]!),
        tag: w[at + I.TAG]! >>> 0,
        // Copied out so the ring turns over at once; tagged messages are small.
        payload: kind === 'tagged' ? this.u8.slice(pos, pos + length) : new Uint8Array(0),
        length,
        data: w[at + I.DATA]! >>> 0,
        released: false,
        release: () => {
          item.released = true;
        },
      };
      this.held.push(item);
      Atomics.store(w, E.RX_HEAD, w[at + I.RX_END]!);
      head = (head + 1) >>> 0;
      Atomics.store(w, E.IN_HEAD, head | 0);
    }
    // The proxy holds work that did not fit: there is room now.
    if (took && Atomics.load(w, E.BACKLOG) !== 0) this.link.ring();
    return this.held.slice();
  }

  private pending(): boolean {
    const w = this.w;
    return this.local.length > 0 || Atomics.load(w, E.CQ_HEAD) !== Atomics.load(w, E.CQ_TAIL) || Atomics.load(w, E.IN_HEAD) !== Atomics.load(w, E.IN_TAIL);
  }

  /** Sleeps on the doorbell the proxy rings after every completion or delivery. */
  waitIncoming(timeoutMs: number): void {
    const { ctl } = this.pool;
    const bell = tables(this.pool).endpoints.addr(this.slot, EndpointField.DOORBELL);
    const seen = Atomics.load(ctl, bell);
    if (this.pending()) return;
    Atomics.store(this.w, E.WAITING, 1);
    // Re-checked after raising the flag: the proxy notifies only while it is up.
    if (!this.pending()) Atomics.wait(ctl, bell, seen, timeoutMs);
    Atomics.store(this.w, E.WAITING, 0);
  }

  remoteCounter(kind: 'writes' | 'reads'): { ctl: Int32Array; index: number } {
    const index = tables(this.pool).endpoints.addr(this.slot, kind === 'writes' ? EndpointField.REMOTE_WRITES : EndpointField.REMOTE_READS);
    return { ctl: this.pool.ctl, index };
  }

  close(): void {
    this.checkOpen();
    this.closed = true;
    const { endpoints } = tables(this.pool);
    // Closing first, so the proxy delivers nothing new; then wait out a delivery in progress.
    endpoints.set(this.slot, EndpointField.STATE, TCP_CLOSING);
    this.link.endpointsChanged();
    drainInflight(this.pool.ctl, endpoints.addr(this.slot, EndpointField.INFLIGHT));
    this.pool.locked(() => {
      scrubAndFreePagesLocked(this.pool, endpoints.get(this.slot, EndpointField.MAILBOX_PAGE), ENDPOINT_PAGES);
      endpoints.freeLocked(this.slot);
    });
    this.link.leave();
  }
}
