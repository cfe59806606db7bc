import { fail, TransportError } from '../../errors.js';
import { EndpointField, ExportField, ExportState, MrField, MrState } from '../../control_layout.js';
import { drainInflight, enterInflight, leaveInflight } from '../../inflight_guard.js';
import { keyMatches } from '../../mr_key.js';
import { checkTarget, MrRefusal } from '../../mr_target.js';
import { allocatePagesLocked, scrubAndFreePagesLocked } from '../../page_allocator.js';
import { tables } from '../../pool_tables.js';
import type { Pool } from '../../pool.js';
import { MrAccess } from '../../fabric/access.js';
import type { EndpointAddress, EndpointImpl, Incoming, RmaRequest, TxCompletion } from '../../fabric/provider.js';
import { MAILBOX_PAGES, Mailbox, MAX_PAYLOAD, SlotField, SlotKind } from './mailbox.js';
import type { ShmMemoryRegion } from './memory_region.js';

interface ResolvedMr {
  slot: number;
  start: number;
}

/**
 * Endpoints of one process: RMA is a single copy between two ranges of the
 * shared pool made by the initiating thread, after checking the target's
 * key, range, access and revocation; tagged messages and remote CQ data go
 * through the target's mailbox.
 */
export class ShmEndpoint implements EndpointImpl {
  readonly address: EndpointAddress;
  private readonly mailbox: Mailbox;
  private closed = false;
  /** Posts finish inside the call (one copy in the shared pool); their completions wait here for the next poll. */
  private readonly done: TxCompletion[] = [];

  private constructor(
    readonly pool: Pool,
    readonly slot: number,
    gen: number,
  ) {
    this.address = { provider: 'shm', pool: pool.id, identity: pool.identity, slot, gen };
    this.mailbox = new Mailbox(pool, slot);
  }

  static open(pool: Pool, domainToken: number): ShmEndpoint {
    const { endpoints } = tables(pool);
    const rec = pool.locked(() => {
      const r = endpoints.claimLocked(1) ?? fail('ENOMEM', `all ${endpoints.capacity} endpoint records are in use; close endpoints first`);
      try {
        endpoints.set(r.slot, EndpointField.MAILBOX_PAGE, allocatePagesLocked(pool, MAILBOX_PAGES, -(r.slot + 1)));
      } catch (e) {
        endpoints.freeLocked(r.slot);
        throw e;
      }
      endpoints.set(r.slot, EndpointField.MAILBOX_PAGES, MAILBOX_PAGES);
      endpoints.set(r.slot, EndpointField.DOMAIN, domainToken);
      return r;
    });
    return new ShmEndpoint(pool, rec.slot, rec.gen);
  }

  private peerLive(remote: EndpointAddress): boolean {
    return remote.identity === this.pool.identity && tables(this.pool).endpoints.get(remote.slot, EndpointField.STATE) === 1 &&
      tables(this.pool).endpoints.get(remote.slot, EndpointField.GEN) === remote.gen;
  }

  /**
   * Runs `fn` while the peer cannot free its mailbox: a sender that passed
   * the liveness check never writes into pages already given to others.
   */
  private withPeer<T>(remote: EndpointAddress, fn: () => T): T | TransportError {
    const { endpoints } = tables(this.pool);
    if (remote.identity !== this.pool.identity || remote.slot < 0 || remote.slot >= endpoints.capacity) {
      return new TransportError('ENOTCONN', 'remote endpoint is closed or unknown');
    }
    const guard = endpoints.addr(remote.slot, EndpointField.INFLIGHT);
    enterInflight(this.pool.ctl, guard);
    try {
      if (!this.peerLive(remote)) return new TransportError('ENOTCONN', 'remote endpoint is closed or unknown');
      return fn();
    } finally {
      leaveInflight(this.pool.ctl, guard);
    }
  }

  /** Finds the target MR for `key` at `remote`, or the error the initiator's CQ gets. */
  private resolveRemote(req: RmaRequest, need: number): ResolvedMr | TransportError {
    const { mrs, endpoints } = tables(this.pool);
    const t = checkTarget(mrs, req.key, endpoints.get(req.remote.slot, EndpointField.DOMAIN), req.remoteOffset, req.length, need);
    if (!('refusal' in t)) return t;
    // In one process the initiator is told why (the tcp target tells a peer only that it refused).
    const range = `[${req.remoteOffset}, ${req.remoteOffset + req.length})`;
    const which = need === MrAccess.remoteWrite ? 'remoteWrite' : 'remoteRead';
    switch (t.refusal) {
      case MrRefusal.NOT_REGISTERED:
        return new TransportError('EACCES', `key ${req.key} is not registered at the remote endpoint`);
      case MrRefusal.CLOSED:
        return new TransportError('ECANCELED', `remote memory region (key ${req.key}) was closed`);
      case MrRefusal.NO_ACCESS:
        return new TransportError('EACCES', `remote memory region (key ${req.key}) lacks ${which} access`);
      case MrRefusal.RANGE:
        return new TransportError('EACCES', `remote range ${range} is outside the ${t.arg}-byte region (key ${req.key})`);
      case MrRefusal.WINDOW:
        return new TransportError('EACCES', `remote range ${range} is outside what the region's owner opens to peers for ${which} (key ${req.key}: a windowed region, its ${which} window closed or elsewhere)`);
    }
  }

  private resolveLocal(req: RmaRequest, need: number): ResolvedMr | TransportError {
    const { mrs } = tables(this.pool);
    const mr = req.local as ShmMemoryRegion;
    const state = mrs.get(mr.slot, MrField.STATE);
    if (state !== MrState.LIVE || !keyMatches(mrs, mr.slot, mr.key)) {
      return new TransportError('ECANCELED', 'local memory region was closed');
    }
    if ((mrs.get(mr.slot, MrField.ACCESS) & need) !== need) {
      return new TransportError('EACCES', `local memory region lacks ${need === MrAccess.write ? 'write' : 'read'} access`);
    }
    if (!(req.localOffset >= 0 && req.localOffset + req.length <= mr.length)) {
      return new TransportError('EACCES', `local range [${req.localOffset}, ${req.localOffset + req.length}) is outside the ${mr.length}-byte region`);
    }
    return { slot: mr.slot, start: mrs.get(mr.slot, MrField.OFFSET) + req.localOffset };
  }

  /** Re-checked after entering the in-flight guard: revoke and close drain it. */
  private stillValid(slot: number): TransportError | undefined {
    const { mrs, exports } = tables(this.pool);
    if (mrs.get(slot, MrField.STATE) !== MrState.LIVE) return new TransportError('ECANCELED', 'memory region was closed during the operation');
    if (exports.get(mrs.get(slot, MrField.EXPORT), ExportField.STATE) === ExportState.REVOKED) {
      return new TransportError('EIO', 'the dma-buf behind the memory region was revoked');
    }
    return undefined;
  }

  private copy(req: RmaRequest, toRemote: boolean, onCopied: () => void): TransportError | undefined {
    const local = this.resolveLocal(req, toRemote ? MrAccess.write : MrAccess.read);
    if (local instanceof TransportError) return local;
    const remote = this.resolveRemote(req, toRemote ? MrAccess.remoteWrite : MrAccess.remoteRead);
    if (remote instanceof TransportError) return remote;
    const { ctl } = this.pool;
    const { mrs } = tables(this.pool);
    const guards = [mrs.addr(local.slot, MrField.INFLIGHT), mrs.addr(remote.slot, MrField.INFLIGHT)];
    for (const g of guards) enterInflight(ctl, g);
    try {
      const err = this.stillValid(remote.slot) ?? this.stillValid(local.slot);
      if (err) return err;
      if (req.length > 0) {
        const mem = new Uint8Array(this.pool.memory.buffer);
        const [dst, src] = toRemote ? [remote.start, local.start] : [local.start, remote.start];
        mem.copyWithin(dst, src, src + req.length);
      }
      onCopied();
      return undefined;
    } finally {
      for (const g of guards) leaveInflight(ctl, g);
    }
  }

  private bumpRemote(remote: EndpointAddress, field: EndpointField): void {
    const { endpoints } = tables(this.pool);
    endpoints.add(remote.slot, field, 1);
    Atomics.notify(this.pool.ctl, endpoints.addr(remote.slot, field));
  }

  postWrite(req: RmaRequest, token: number): void {
    this.finish(token, this.write(req));
  }

  postRead(req: RmaRequest, token: number): void {
    this.finish(token, this.read(req));
  }

  postSend(remote: EndpointAddress, tag: number, payload: Uint8Array, token: number): void {
    this.finish(token, this.send(remote, tag, payload));
  }

  private finish(token: number, error: TransportError | undefined): void {
    this.done.push(error ? { token, error } : { token });
  }

  pollCompletions(): TxCompletion[] {
    return this.done.splice(0);
  }

  private write(req: RmaRequest): TransportError | undefined {
    this.checkOpen();
    return this.withPeer(req.remote, () => {
      let claimed = -1;
      let target: Mailbox | undefined;
      if (req.data !== undefined) {
        // Claim the remote completion slot first: EAGAIN must leave memory untouched.
        target = new Mailbox(this.pool, req.remote.slot);
        claimed = target.claim();
        if (claimed < 0) fail('EAGAIN', 'remote completion queue is full; let the target make progress and retry');
      }
      const err = this.copy(req, true, () => {
        this.bumpRemote(req.remote, EndpointField.REMOTE_WRITES);
        if (target) target.publish(claimed, SlotKind.REMOTE_WRITE, this.slot, 0, req.length, req.data! | 0);
      });
      if (err && target) target.unclaim(claimed);
      return err;
    });
  }

  private read(req: RmaRequest): TransportError | undefined {
    this.checkOpen();
    return this.withPeer(req.remote, () => this.copy(req, false, () => this.bumpRemote(req.remote, EndpointField.REMOTE_READS)));
  }

  private send(remote: EndpointAddress, tag: number, payload: Uint8Array): TransportError | undefined {
    this.checkOpen();
    if (payload.length > MAX_PAYLOAD) fail('EINVAL', `message of ${payload.length} bytes exceeds the ${MAX_PAYLOAD}-byte limit for tagged messages; use RMA for bulk data`);
    return this.withPeer(remote, () => {
      const box = new Mailbox(this.pool, remote.slot);
      const s = box.claim();
      if (s < 0) fail('EAGAIN', 'remote endpoint has no free receive slot; let it make progress and retry');
      box.payload(s, payload.length).set(payload);
      box.publish(s, SlotKind.TAGGED, this.slot, tag, payload.length, 0);
      return undefined;
    });
  }

  poll(): Incoming[] {
    this.checkOpen();
    const box = this.mailbox;
    return box.full().map((s) => {
      const kind = box.field(s, SlotField.KIND) === SlotKind.TAGGED ? 'tagged' : 'remote-write';
      const length = box.field(s, SlotField.LENGTH);
      return {
        kind,
        source: box.field(s, SlotField.SOURCE),
        tag: box.field(s, SlotField.TAG) >>> 0,
        payload: kind === 'tagged' ? box.payload(s, length) : new Uint8Array(0),
        length,
        data: box.field(s, SlotField.DATA) >>> 0,
        release: () => box.unclaim(s),
      };
    });
  }

  /**
   * Sleeps on the doorbell; callers spin first if they want to (a spin here
   * would starve peers on a busy machine). Deadline: timeoutMs, a short
   * slice from every caller (CompletionQueue.wait, the runtime's net port).
   */
  waitIncoming(timeoutMs: number): void {
    const { endpoints } = tables(this.pool);
    const addr = endpoints.addr(this.slot, EndpointField.DOORBELL);
    const seen = Atomics.load(this.pool.ctl, addr);
    if (this.done.length > 0 || this.mailbox.full().length > 0) return;
    Atomics.wait(this.pool.ctl, addr, seen, timeoutMs);
  }

  remoteCounter(kind: 'writes' | 'reads'): { ctl: Int32Array; index: number } {
    const index = tables(this.pool).endpoints.addr(this.slot, kind === 'writes' ? EndpointField.REMOTE_WRITES : EndpointField.REMOTE_READS);
    return { ctl: this.pool.ctl, index };
  }

  private checkOpen(): void {
    if (this.closed) fail('EINVAL', 'endpoint is closed');
  }

  close(): void {
    this.checkOpen();
    this.closed = true;
    const { endpoints } = tables(this.pool);
    // A closing state first, so no new sender enters; then wait out those inside.
    endpoints.set(this.slot, EndpointField.STATE, 2);
    // Bounded (INFLIGHT_DRAIN_MS). False means a sender died inside its guard:
    // it writes the mailbox no more, so its pages can go either way.
    drainInflight(this.pool.ctl, endpoints.addr(this.slot, EndpointField.INFLIGHT));
    this.pool.locked(() => {
      scrubAndFreePagesLocked(this.pool, endpoints.get(this.slot, EndpointField.MAILBOX_PAGE), MAILBOX_PAGES);
      endpoints.freeLocked(this.slot);
    });
  }
}
