// msgpackr's plain JavaScript build: its main entry would try a native add-on under Node.
import { pack } from 'msgpackr/pack';
import { unpack } from 'msgpackr/unpack';
import { fail, TransportError } from '../errors.js';
import { AddressVector } from './address_vector.js';
import { type CompletionOp, CompletionQueue } from './completion_queue.js';
import { COUNTER_EVENTS, Counter, type CounterEvent } from './counter.js';
import type { MemoryRegion } from './memory_region.js';
import type { EndpointAddress, EndpointImpl } from './provider.js';

export interface RmaOp {
  /** the local memory region (its desc) holding the source (write) or target (read) */
  mr: MemoryRegion;
  /** offset inside the local region */
  offset?: number;
  length: number;
  /** fi_addr of the target */
  dest: number;
  /** offset inside the target's region (FI_MR_OFFSET addressing) */
  remoteOffset: number;
  key: number;
  context?: unknown;
  /**
   * The caller will wait for this operation's completion soon. Providers
   * whose progress is the caller's own (tcp) acknowledge such a write at
   * once; others ride on the target's next message to the initiator.
   */
  awaited?: boolean;
}

interface PostedRecv {
  tag: number;
  ignore: number;
  context: unknown;
}

/** What a posted operation's completion must report. */
interface Pending {
  op: CompletionOp;
  context: unknown;
  length: number;
  event: CounterEvent;
}

export interface CqBindFlags {
  transmit?: boolean;
  recv?: boolean;
}

const U32 = 0xffffffff;

function checkU32(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 0 || v > U32) fail('EINVAL', `${name} must be an integer in [0, 2^32) (got ${v})`);
}

/**
 * fi_endpoint: RMA and tagged messaging towards peers in its address
 * vector. Progress is manual (FI_PROGRESS_MANUAL): reading a bound CQ
 * drains the provider's incoming queue and matches posted receives.
 */
export class Endpoint {
  private txCq?: CompletionQueue;
  private rxCq?: CompletionQueue;
  private av?: AddressVector;
  private readonly counters = new Map<CounterEvent, Counter>();
  private readonly posted: PostedRecv[] = [];
  private readonly pending = new Map<number, Pending>();
  private nextToken = 1;
  private enabled = false;
  private closed = false;
  /** MRs registered with this endpoint (FI_MR_ENDPOINT); they must close first */
  readonly boundMrs = new Set<MemoryRegion>();

  constructor(
    readonly impl: EndpointImpl,
    private readonly onClose: (ep: Endpoint) => void,
  ) {}

  get address(): EndpointAddress {
    return { ...this.impl.address };
  }

  bind(target: CompletionQueue | Counter | AddressVector, flags?: CqBindFlags | CounterEvent[]): this {
    this.checkOpen();
    if (this.enabled) fail('EINVAL', 'bind before enable(); the endpoint is already enabled');
    if (target instanceof CompletionQueue) {
      const f = (flags as CqBindFlags | undefined) ?? { transmit: true, recv: true };
      if (!f.transmit && !f.recv) fail('EINVAL', 'bind a completion queue with transmit and/or recv');
      if (f.transmit) this.txCq = target;
      if (f.recv) this.rxCq = target;
      target.endpoints.add(this);
    } else if (target instanceof Counter) {
      const events = flags as CounterEvent[] | undefined;
      if (!Array.isArray(events) || events.length === 0 || events.some((e) => !COUNTER_EVENTS.includes(e))) {
        fail('EINVAL', `bind a counter with a non-empty list of events from ${COUNTER_EVENTS.join(', ')}`);
      }
      for (const e of events) {
        this.counters.set(e, target);
        if (e === 'remoteWrite' || e === 'remoteRead') {
          const { ctl, index } = this.impl.remoteCounter(e === 'remoteWrite' ? 'writes' : 'reads');
          target.remote.push({ ctl, index, base: Atomics.load(ctl, index) });
          target.progressed.add(this);
        }
      }
      target.bindings++;
    } else if (target instanceof AddressVector) {
      this.av = target;
      target.bindings++;
    } else {
      fail('EINVAL', 'bind takes a CompletionQueue, Counter or AddressVector');
    }
    return this;
  }

  enable(): void {
    this.checkOpen();
    if (!this.txCq || !this.rxCq) fail('EINVAL', 'bind a completion queue for transmit and recv before enable()');
    if (!this.av) fail('EINVAL', 'bind an address vector before enable()');
    this.enabled = true;
  }

  private checkOpen(): void {
    if (this.closed) fail('EINVAL', 'endpoint is closed');
  }

  private checkReady(): void {
    this.checkOpen();
    if (!this.enabled) fail('EINVAL', 'endpoint is not enabled; bind a CQ and an AV, then call enable()');
  }

  /** Records what the completion of `token` must say; the provider reports it later. */
  private track(op: CompletionOp, context: unknown, length: number, event: CounterEvent): number {
    const token = this.nextToken++;
    this.pending.set(token, { op, context, length, event });
    return token;
  }

  private completeTx(p: Pending, err: TransportError | undefined): void {
    const counter = this.counters.get(p.event);
    if (err) {
      this.txCq!.push({ err: { op: p.op, context: p.context, code: err.code, message: err.message.replace(/^[A-Z]+: /, '') } });
      counter?.addError();
    } else {
      this.txCq!.push({ ok: { op: p.op, context: p.context, length: p.length } });
      counter?.add();
    }
  }

  /** Operations posted and not yet completed into the CQ. */
  get outstanding(): number {
    return this.pending.size;
  }

  /** Posts through `post`; a post the provider refuses at once (EAGAIN) leaves nothing tracked. */
  private postTracked(op: CompletionOp, context: unknown, length: number, event: CounterEvent, post: (token: number) => void): void {
    const token = this.track(op, context, length, event);
    try {
      post(token);
    } catch (e) {
      this.pending.delete(token);
      throw e;
    }
  }

  private checkRma(op: RmaOp): { remote: EndpointAddress; offset: number } {
    this.checkReady();
    if (!op || typeof op !== 'object') fail('EINVAL', 'RMA needs an options object');
    if (!op.mr || !op.mr.isOpen) fail('EINVAL', 'op.mr must be an open local MemoryRegion (its desc)');
    const offset = op.offset ?? 0;
    if (!Number.isSafeInteger(offset) || offset < 0) fail('EINVAL', `op.offset must be a non-negative integer (got ${offset})`);
    if (!Number.isSafeInteger(op.length) || op.length < 0) fail('EINVAL', `op.length must be a non-negative integer (got ${op.length})`);
    if (!Number.isSafeInteger(op.remoteOffset) || op.remoteOffset < 0) fail('EINVAL', `op.remoteOffset must be a non-negative integer (got ${op.remoteOffset})`);
    if (!Number.isSafeInteger(op.key)) fail('EINVAL', `op.key must be an integer (got ${op.key})`);
    this.checkRoom();
    return { remote: this.av!.lookup(op.dest), offset };
  }

  /** Every posted operation needs a CQ entry when it completes: refuse posts the CQ could not hold. */
  private checkRoom(): void {
    if (this.pending.size >= this.txCq!.room()) fail('EAGAIN', 'transmit completion queue is full; read completions and retry');
  }

  /** fi_write: posts; the completion (or its error) arrives in the transmit CQ. */
  write(op: RmaOp): void {
    const { remote, offset } = this.checkRma(op);
    const req = { local: op.mr.impl, localOffset: offset, length: op.length, remote, remoteOffset: op.remoteOffset, key: op.key, awaited: op.awaited };
    this.postTracked('write', op.context, op.length, 'write', (t) => this.impl.postWrite(req, t));
  }

  /** fi_writedata: the target's CQ gets a remote-write completion carrying `data` (32 bits). */
  writedata(op: RmaOp & { data: number }): void {
    const { remote, offset } = this.checkRma(op);
    checkU32('op.data', op.data);
    const req = { local: op.mr.impl, localOffset: offset, length: op.length, remote, remoteOffset: op.remoteOffset, key: op.key, data: op.data, awaited: op.awaited };
    this.postTracked('write', op.context, op.length, 'write', (t) => this.impl.postWrite(req, t));
  }

  read(op: RmaOp): void {
    const { remote, offset } = this.checkRma(op);
    const req = { local: op.mr.impl, localOffset: offset, length: op.length, remote, remoteOffset: op.remoteOffset, key: op.key };
    this.postTracked('read', op.context, op.length, 'read', (t) => this.impl.postRead(req, t));
  }

  /** fi_tsend of a small control message, encoded with msgpackr. */
  tsend(dest: number, tag: number, message: unknown, context?: unknown): void {
    this.checkReady();
    checkU32('tag', tag);
    this.checkRoom();
    const remote = this.av!.lookup(dest);
    const bytes = pack(message);
    this.postTracked('send', context, bytes.length, 'send', (t) => this.impl.postSend(remote, tag, bytes, t));
  }

  /** fi_trecv: matches a message whose tag equals `tag` outside the `ignore` bits. */
  trecv(tag: number, ignore = 0, context?: unknown): void {
    this.checkReady();
    checkU32('tag', tag);
    checkU32('ignore', ignore);
    this.posted.push({ tag, ignore, context });
  }

  /** @internal moves finished posts into the transmit CQ and incoming work into the receive CQ */
  progress(): void {
    if (this.closed || !this.rxCq) return;
    for (const c of this.impl.pollCompletions()) {
      const p = this.pending.get(c.token);
      if (!p) continue;
      this.pending.delete(c.token);
      this.completeTx(p, c.error);
    }
    for (const inc of this.impl.poll()) {
      if (!this.rxCq.hasRoom()) return;
      const source = this.av?.reverse(this.impl.address.provider, inc.source, inc.sourceProcess);
      if (inc.kind === 'remote-write') {
        this.rxCq.push({ ok: { op: 'remote-write', context: undefined, length: inc.length, data: inc.data, ...(source !== undefined && { source }) } });
        inc.release();
        continue;
      }
      const i = this.posted.findIndex((p) => ((inc.tag ^ p.tag) & ~p.ignore) >>> 0 === 0);
      if (i < 0) continue; // unexpected: stays in the mailbox until a matching trecv
      const [recv] = this.posted.splice(i, 1);
      const message = unpack(inc.payload.slice());
      this.rxCq.push({ ok: { op: 'recv', context: recv!.context, length: inc.length, tag: inc.tag, message, ...(source !== undefined && { source }) } });
      this.counters.get('recv')?.add();
      inc.release();
    }
  }

  /**
   * Before the caller stops driving progress for a while: hands queued
   * messages to the kernel as far as it takes them and, with `acks`, sends
   * the acknowledgements peers wait for. True when nothing is left queued
   * here; false means call again (after cq reads) until it is, since only
   * this thread moves those bytes. Providers that progress on their own
   * always answer true.
   */
  flush(acks = true): boolean {
    if (this.closed) return true;
    return this.impl.flush?.(acks) ?? true;
  }

  /**
   * Gives up every operation still in flight (fi_cancel): each completes
   * with ECANCELED into the CQ, and none moves another byte. For a close
   * that cannot wait any longer (a peer that stopped answering).
   */
  cancel(): void {
    this.checkOpen();
    this.impl.cancel?.();
    this.progress();
  }

  /**
   * Connections this process refused because they did not prove they hold
   * the job secret (0 for providers without a network side). A wait that
   * times out names it: a peer configured with another secret never arrives.
   */
  refusedConnections(): number {
    return this.closed ? 0 : (this.impl.refusedConnections?.() ?? 0);
  }

  /** @internal */
  waitIncoming(timeoutMs: number): void {
    if (!this.closed) this.impl.waitIncoming(timeoutMs);
  }

  close(): void {
    this.checkOpen();
    const open = [...this.boundMrs].filter((m) => m.isOpen).length;
    if (open > 0) fail('EBUSY', `endpoint has ${open} memory region(s) bound; close them before the endpoint`);
    this.progress();
    if (this.pending.size > 0) fail('EBUSY', `endpoint has ${this.pending.size} operation(s) in flight; wait for their completions before closing`);
    this.impl.close();
    this.closed = true;
    this.txCq?.endpoints.delete(this);
    this.rxCq?.endpoints.delete(this);
    const counters = new Set(this.counters.values());
    for (const c of counters) c.bindings--;
    if (this.av) this.av.bindings--;
    this.onClose(this);
  }
}
