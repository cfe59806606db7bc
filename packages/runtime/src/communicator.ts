import { type Device, type EndpointAddress, type Pool, type ProviderName, TransportError } from '@collective/transport';
import type { Algorithm } from './algorithm.js';
import { localCopy } from './algorithms/local_copy.js';
import { CollectiveError } from './comm_errors.js';
import { checkCollectiveOptions, checkTimeoutOption, type CollectiveOptions, type P2pOptions } from './collective_options.js';
import { abortInfo } from './comm_base/abort_state.js';
import { CallProtocol, type CallRequest } from './comm/call_protocol.js';
import { Hdr } from './comm_base/comm_block.js';
import { Group, HIER_ALGO, STEPS_ALGO } from './comm/flight_recorder.js';
import { type CommId, createCommId } from './comm/comm_id.js';
import { type CommOptions, prepareComm, setupComm, USER_RANKS } from './comm/comm_setup.js';
import type { PeerRecord } from './comm_base/peer_record.js';
import type { CommState } from './comm/comm_state.js';
import { teardownComm } from './comm/comm_teardown.js';
import type { CollectiveKind } from './collective_kind.js';
import { type DeviceArray, dtypeOf, poolOffset } from './device_array.js';
import { checkDtype, DTYPE_BYTES, type Dtype } from './dtypes.js';
import { type P2pSide, PointToPoint } from './point_to_point.js';
import type { Registration } from './registration/registrations.js';
import { AVG_OVER, type ChildOptions, HierScratch, type Hierarchy, hierAllGather, hierAllReduce, hierBroadcast, hierReduceScatter, type ProcessLayout, processLayout } from './hierarchy.js';
import { ALGO_ENV, type ChoiceContext, chooseAlgorithm, PROTO_ENV, tunedRules, wantsHier } from './tuner.js';
import { envSetting } from '@collective/transport/runtime';

export type { CommId } from './comm/comm_id.js';
export type { CommOptions } from './comm/comm_setup.js';
export type { PeerRecord } from './comm_base/peer_record.js';

/** @internal A communicator half way through init (Communicator.prepare). */
export interface PreparedCommunicator {
  readonly record: PeerRecord;
  finish(directory: readonly PeerRecord[]): Communicator;
  abandon(reason: string): void;
}
export type { P2pSide } from './point_to_point.js';

export type { CollectiveOptions, P2pOptions } from './collective_options.js';

/** What register() hands back: proof that a buffer is registered, for deregister(). */
export interface BufferRegistration {
  readonly bytes: number;
}

const registrations = new WeakMap<BufferRegistration, Registration>();

/** Bytes of one rank's slot when records cross a communicator (split across processes). */
const RECORD_BYTES = 512;

/**
 * A group of ranks, one per device, that run collectives together
 * (ncclComm_t). Every call is synchronous in the calling device thread,
 * has a deadline, and checks that all ranks called the same thing; a call
 * that fails after it started aborts the communicator on every rank.
 */
export class Communicator {
  readonly #s: CommState;
  readonly #protocol: CallProtocol;
  readonly #p2p: PointToPoint;
  /** COLLECTIVE_ALGO and COLLECTIVE_PROTO, read once: process.env is slow on a hot path */
  readonly #envAlgo = envSetting(ALGO_ENV);
  readonly #choice: ChoiceContext = { envProto: envSetting(PROTO_ENV), llOk: false, llBytes: 0 };
  #destroyed = false;
  /** how the ranks sit in processes, for hierarchical calls: undefined until first asked, null when there is no such layout */
  #layout: ProcessLayout | null | undefined;
  /** the children of hierarchical calls, made inside the first call that needs them */
  #hier: Hierarchy<Communicator> | undefined;
  /** the hierarchy the last call composed, undefined when it ran flat: lastAlgorithm reads it */
  #lastHier: Hierarchy<Communicator> | undefined;
  /** split() calls so far: a child's name is its parent's, this number and its color, the same on every process */
  #splits = 0;
  /** the deadline of the user's hierarchical call under way: the rounds that make its step groups keep to it */
  #roundTimeoutMs: number | undefined;
  readonly #memory: ArrayBufferLike;
  /**
   * byteOffset is a slow getter in this V8 (tens of ns): the offsets of the
   * last few views are kept, since a training loop passes the same ones.
   */
  readonly #views: (DeviceArray | undefined)[] = [undefined, undefined, undefined, undefined];
  readonly #offsets = [0, 0, 0, 0];
  readonly #kinds: Dtype[] = ['uint8', 'uint8', 'uint8', 'uint8'];
  #nextView = 0;
  /** transfers collected between groupStart() and groupEnd() */
  #group: { depth: number; sends: P2pSide[]; recvs: P2pSide[]; dtype: Dtype | undefined; timeoutMs: number | undefined } | undefined;
  /** the last call's choice of algorithm, reused while the call does not change */
  readonly #last = { kind: '', bytes: -1, algo: undefined as string | undefined, proto: undefined as string | undefined, alg: undefined as Algorithm | undefined };
  /** one request object, refilled per call: calls never overlap on a rank */
  readonly #req: CallRequest = { kind: 'barrier', send: undefined, recv: undefined, sendOff: 0, recvOff: 0, count: 0, dtype: 'uint8', op: 'sum', avgOver: 0, root: 0, timeoutMs: 0, alg: undefined, inPlace: false, reads: false, writes: false };

  private constructor(s: CommState) {
    this.#s = s;
    this.#memory = s.pool.memory.buffer;
    // ll runs over both connectors: shm peers read this rank's slot, net peers get flag and data in one write.
    this.#choice.llOk = true;
    this.#choice.net = s.directory !== undefined;
    this.#choice.rules = tunedRules(s.size);
    this.#protocol = new CallProtocol(s);
    this.#p2p = new PointToPoint(s, this.#protocol);
  }

  /** ncclGetUniqueId: a shared block in the pool for `nranks` ranks. */
  static createId(pool: Pool, nranks: number): CommId {
    return createCommId(pool, nranks);
  }

  /** ncclCommInitRank: blocks until every rank has joined (or the timeout passes). */
  static init(device: Device, id: CommId, rank: number, options: CommOptions = {}): Communicator {
    return new Communicator(setupComm(device, id, rank, options));
  }

  /**
   * @internal The first half of init for ranks that span processes: this
   * rank's record to publish (its tcp endpoint and scratch key), then
   * finish() with every rank's record once all have prepared.
   */
  static prepare(device: Device, id: CommId, rank: number, options: CommOptions, provider: ProviderName): PreparedCommunicator {
    const p = prepareComm(device, id, rank, options, provider);
    return { record: p.record, finish: (directory) => new Communicator(p.finish(directory)), abandon: (reason) => p.abandon(reason) };
  }

  get rank(): number {
    return this.#s.rank;
  }

  get size(): number {
    return this.#s.size;
  }

  get device(): Device {
    return this.#s.device;
  }

  /** How each peer is reached, by rank ('self' for this rank): chosen at setup by the providers' canConnect. */
  get connectors(): ('shm' | 'net' | 'self')[] {
    return this.#s.connectors.map((c) => c?.type ?? 'self');
  }

  /**
   * The algorithm and protocol this rank's last call ran (the tuner's
   * choice or the forced one), for a benchmark to report what it measured;
   * a hierarchical call is 'hier' over the protocols of its steps' last
   * calls. undefined before any call and after a barrier.
   */
  get lastAlgorithm(): { algo: string; proto: string } | undefined {
    const h = this.#lastHier;
    if (h) return { algo: 'hier', proto: [...new Set([h.local.lastAlgorithm?.proto, h.cross.lastAlgorithm?.proto].filter((p) => p !== undefined))].join('+') };
    const a = this.#last.alg;
    return a && { algo: a.name, proto: a.proto };
  }

  get isDestroyed(): boolean {
    return this.#destroyed;
  }

  /** ncclCommGetAsyncError: the error that made this communicator unusable, if any. */
  asyncError(): Error | undefined {
    if (this.#protocol.error) return this.#protocol.error;
    // After destroy() the shared block may be freed and hold another communicator's words (or anything): not read.
    if (this.#destroyed) return undefined;
    const info = abortInfo(this.#s.words);
    if (info) return new CollectiveError(info.code, `the communicator was aborted by ${this.#s.peerName(info.rank)}: ${info.reason}`);
    return undefined;
  }

  // ---- collectives -------------------------------------------------------------

  /**
   * A view's dtype, checked against options.dtype. The last few views are
   * remembered with their dtype and offset (a typed array's are fixed for
   * its life): a training loop passes the same views call after call, and
   * instanceof chains and byteOffset reads cost more than the rest of a
   * small call's bookkeeping.
   */
  #dtype(what: string, a: DeviceArray, hint: Dtype | undefined): Dtype {
    let i = this.#views.indexOf(a);
    if (i < 0) {
      const d = dtypeOf(a);
      // The memory never grows, so its buffer is fetched once.
      if (a.buffer !== this.#memory) poolOffset(this.#s.pool, a, what);
      i = this.#nextView;
      this.#views[i] = a;
      this.#offsets[i] = a.byteOffset;
      this.#kinds[i] = d;
      this.#nextView = (i + 1) & 3;
    }
    const d = this.#kinds[i]!;
    if (hint === undefined || hint === d) return d;
    checkDtype('options.dtype', hint);
    // A Uint16Array is float16 unless options.dtype says bfloat16; anything else is refused with its reason.
    return dtypeOf(a, hint);
  }

  #offsetOf(a: DeviceArray): number {
    const i = this.#views.indexOf(a);
    if (i >= 0) return this.#offsets[i]!;
    return a.byteOffset;
  }

  #pair(send: DeviceArray, recv: DeviceArray, hint: Dtype | undefined): Dtype {
    const sd = this.#dtype('send', send, hint);
    const rd = this.#dtype('recv', recv, hint);
    if (sd !== rd) throw new TransportError('EINVAL', `send is ${sd} but recv is ${rd}; they must have the same dtype`);
    return sd;
  }

  /** Refuses a call's bad options before anything is announced; the checked op, root and timeout go into the request. */
  #checkOptions(kind: CollectiveKind, opts: CollectiveOptions): void {
    this.#protocol.checkUsable(this.#destroyed, kind);
    if (this.#group) throw new TransportError('EINVAL', `${kind} inside groupStart()/groupEnd(): a group batches send and recv only; end the group first`);
    checkCollectiveOptions(kind, opts, this.size);
    const op = opts.op === undefined ? 'sum' : opts.op;
    const root = opts.root ?? 0;
    const timeoutMs = opts.timeoutMs ?? this.#s.timeoutMs;
    const r = this.#req;
    r.op = op;
    r.avgOver = (opts as ChildOptions)[AVG_OVER] ?? 0;
    r.root = root;
    r.timeoutMs = timeoutMs;
  }

  #execute(kind: CollectiveKind, send: DeviceArray | undefined, sendOff: number, recv: DeviceArray | undefined, recvOff: number, count: number, dtype: Dtype, opts: CollectiveOptions, inPlace: boolean, reads: boolean, writes: boolean): void {
    this.#checkOptions(kind, opts);
    const bytes = count * DTYPE_BYTES[dtype];
    const last = this.#last;
    let alg: Algorithm | undefined;
    if (kind === last.kind && bytes === last.bytes && opts.algo === last.algo && opts.proto === last.proto) {
      alg = last.alg;
    } else {
      const choice = this.#choice;
      choice.proto = opts.proto;
      choice.llBytes = kind === 'reduceScatter' ? bytes * this.size : bytes;
      alg = kind === 'barrier' ? undefined : this.size === 1 ? localCopy : chooseAlgorithm(kind, bytes, this.size, opts.algo, this.#envAlgo, choice);
      last.kind = kind;
      last.bytes = bytes;
      last.algo = opts.algo;
      last.proto = opts.proto;
      last.alg = alg;
    }
    this.#lastHier = undefined;
    const r = this.#req;
    r.kind = kind;
    r.send = send;
    r.recv = recv;
    r.sendOff = sendOff;
    r.recvOff = recvOff;
    r.count = count;
    r.dtype = dtype;
    r.alg = alg;
    r.inPlace = inPlace;
    r.reads = reads;
    r.writes = writes;
    this.#protocol.run(r);
  }

  /**
   * Whether this call runs hierarchically (every rank decides alike: same
   * layout, same options); the children are made by the call itself.
   */
  #hierarchical(kind: CollectiveKind, opts: CollectiveOptions): boolean {
    const want = wantsHier(kind, opts?.algo, this.#envAlgo);
    if (want === 'no') return false;
    if (this.#layout === undefined) {
      this.#protocol.checkUsable(this.#destroyed, kind);
      this.#layout = processLayout(this.#s.directory) ?? null;
    }
    if (this.#layout === null) {
      if (want === 'forced') throw new TransportError('EINVAL', `${kind}: algorithm 'hier' needs a communicator over several processes with the same number (more than one) of consecutive ranks in each; this one is not, so choose another algorithm`);
      return false;
    }
    return true;
  }

  /**
   * The children of hierarchical calls, made on first use by two splits
   * inside the user's call that needs them: their errors name that call,
   * and they record into this communicator's flight record.
   */
  #children(): Hierarchy<Communicator> {
    if (this.#hier) return this.#hier;
    this.#roundTimeoutMs = this.#req.timeoutMs;
    try {
      this.#hier = this.#makeChildren();
    } finally {
      this.#roundTimeoutMs = undefined;
    }
    return this.#hier;
  }

  #makeChildren(): Hierarchy<Communicator> {
    const layout = this.#layout!;
    const process = Math.floor(this.rank / layout.perProcess);
    // The children's errors name the ranks the user knows, this communicator's.
    const per = layout.perProcess;
    const dir = this.#s.directory;
    const user = (ranks: number[]) => ({ [USER_RANKS]: ranks.map((q) => ({ rank: this.#s.peerRank(q), host: dir?.[q]?.host, pid: dir?.[q]?.pid })) }) as CommOptions;
    const processes = this.size / per;
    const local = this.split(process, this.rank, user(Array.from({ length: per }, (_, i) => process * per + i)))!;
    const cross = this.split(this.rank % per, this.rank, user(Array.from({ length: processes }, (_, p) => p * per + (this.rank % per))))!;
    local.#protocol.adoptParent(this.#protocol, Group.INTRA_PROCESS);
    cross.#protocol.adoptParent(this.#protocol, Group.INTER_PROCESS);
    return { layout, local, cross, scratch: new HierScratch(this.#s.device) };
  }

  /** Options of split's own rounds: the direct exchange, within the deadline of the user's call they serve. */
  #roundOptions(): CollectiveOptions {
    return this.#roundTimeoutMs === undefined ? { algo: 'direct' } : { algo: 'direct', timeoutMs: this.#roundTimeoutMs };
  }

  /**
   * Runs the steps of a hierarchical call as one user's call of this
   * communicator (numbered and recorded here, its steps under it); a failed
   * step fails this communicator and its children on every rank, as a flat
   * call would.
   */
  #composed(kind: CollectiveKind, opts: CollectiveOptions, count: number, dtype: Dtype, steps: (h: Hierarchy<Communicator>) => void): void {
    this.#checkOptions(kind, opts);
    const p = this.#protocol;
    const mark = p.enterUserCall(kind, count, dtype, this.#req.op, this.#req.root, HIER_ALGO);
    try {
      const h = this.#children();
      steps(h);
      this.#lastHier = h;
      p.finishUserCall(mark, true);
    } catch (e) {
      p.finishUserCall(mark, false);
      const why = `a step of a hierarchical call failed: ${(e as Error).message.replace(/^[A-Z]+: /, '')}`;
      // Children first: ranks of this process may wait in the other child.
      const h = this.#hier;
      if (h) for (const c of [h.local, h.cross]) if (!c.#destroyed) c.#protocol.abort(why);
      // A round of this communicator's own (the children's split) has failed it already.
      if (!p.error) p.fail(e as Error);
      throw p.error ?? e;
    } finally {
      p.leaveUserCall();
    }
  }

  /** ncclAllReduce: every rank gets the reduction of every rank's send. In place when send and recv are the same view. */
  allReduce(send: DeviceArray, recv: DeviceArray, opts: CollectiveOptions = {}): void {
    const dtype = this.#pair(send, recv, opts.dtype);
    if (recv.length !== send.length) throw new TransportError('EINVAL', `allReduce: recv has ${recv.length} elements, send has ${send.length}; they must match`);
    const so = this.#offsetOf(send);
    const ro = this.#offsetOf(recv);
    const inPlace = placement('allReduce', send, so, recv, ro, 0);
    if (this.#s.directory && this.#hierarchical('allReduce', opts)) return this.#composed('allReduce', opts, send.length, dtype, (h) => hierAllReduce(h, send, recv, opts));
    this.#execute('allReduce', send, so, recv, ro, send.length, dtype, opts, inPlace, true, true);
  }

  /** ncclAllGather: rank q's send lands at block q of every rank's recv. In place when send is this rank's block of recv. */
  allGather(send: DeviceArray, recv: DeviceArray, opts: CollectiveOptions = {}): void {
    const dtype = this.#pair(send, recv, opts.dtype);
    if (recv.length !== send.length * this.size) {
      throw new TransportError('EINVAL', `allGather: recv must hold size × send.length = ${send.length * this.size} elements (got ${recv.length})`);
    }
    const so = this.#offsetOf(send);
    const ro = this.#offsetOf(recv);
    const inPlace = placement('allGather', send, so, recv, ro, this.rank * send.length);
    if (this.#s.directory && this.#hierarchical('allGather', opts)) return this.#composed('allGather', opts, send.length, dtype, (h) => hierAllGather(h, send, recv, opts));
    this.#execute('allGather', send, so, recv, ro, send.length, dtype, opts, inPlace, true, true);
  }

  /** ncclReduceScatter: block r of the reduction lands in rank r's recv. In place when recv is this rank's block of send. */
  reduceScatter(send: DeviceArray, recv: DeviceArray, opts: CollectiveOptions = {}): void {
    const dtype = this.#pair(send, recv, opts.dtype);
    if (send.length !== recv.length * this.size) {
      throw new TransportError('EINVAL', `reduceScatter: send must hold size × recv.length = ${recv.length * this.size} elements (got ${send.length}); pad it to a multiple of ${this.size}`);
    }
    const so = this.#offsetOf(send);
    const ro = this.#offsetOf(recv);
    const inPlace = placement('reduceScatter', recv, ro, send, so, this.rank * recv.length);
    if (this.#s.directory && this.#hierarchical('reduceScatter', opts)) return this.#composed('reduceScatter', opts, recv.length, dtype, (h) => hierReduceScatter(h, send, recv, opts));
    this.#execute('reduceScatter', send, so, recv, ro, recv.length, dtype, opts, inPlace, true, true);
  }

  /** ncclBroadcast: the root's send lands in every rank's recv; send is read only on the root. */
  broadcast(send: DeviceArray, recv: DeviceArray, opts: CollectiveOptions = {}): void {
    const dtype = this.#pair(send, recv, opts.dtype);
    const root = this.rank === (opts.root ?? 0);
    if (root && send.length < recv.length) throw new TransportError('EINVAL', `broadcast: the root's send has ${send.length} elements, fewer than recv's ${recv.length}`);
    // Checked on every rank, though only the root reads send: ranks must refuse the same calls.
    const so = this.#offsetOf(send);
    const ro = this.#offsetOf(recv);
    const inPlace = placement('broadcast', send, so, recv, ro, 0) && root;
    if (this.#s.directory && this.#hierarchical('broadcast', opts)) return this.#composed('broadcast', opts, recv.length, dtype, (h) => hierBroadcast(h, send, recv, opts));
    this.#execute('broadcast', root ? send : undefined, so, recv, ro, recv.length, dtype, opts, inPlace, root, true);
  }

  /** ncclReduce: the reduction lands in the root's recv; other ranks' recv is untouched. */
  reduce(send: DeviceArray, recv: DeviceArray, opts: CollectiveOptions = {}): void {
    const dtype = this.#pair(send, recv, opts.dtype);
    if (recv.length !== send.length) throw new TransportError('EINVAL', `reduce: recv has ${recv.length} elements, send has ${send.length}; they must match`);
    const so = this.#offsetOf(send);
    const ro = this.#offsetOf(recv);
    const inPlace = placement('reduce', send, so, recv, ro, 0);
    const root = this.rank === (opts.root ?? 0);
    this.#execute('reduce', send, so, recv, ro, send.length, dtype, opts, inPlace, true, root);
  }

  /** ncclAlltoAll: block q of send goes to rank q, landing at block `rank` of its recv. */
  allToAll(send: DeviceArray, recv: DeviceArray, opts: CollectiveOptions = {}): void {
    const dtype = this.#pair(send, recv, opts.dtype);
    if (send.length !== recv.length || send.length % this.size !== 0) {
      throw new TransportError('EINVAL', `allToAll: send and recv must have the same length, a multiple of size ${this.size} (got ${send.length} and ${recv.length})`);
    }
    const so = this.#offsetOf(send);
    const ro = this.#offsetOf(recv);
    if (overlap(so, send.length * send.BYTES_PER_ELEMENT, ro, recv.length * recv.BYTES_PER_ELEMENT) && this.size > 1) throw new TransportError('EINVAL', 'allToAll cannot run in place; pass a separate recv buffer');
    this.#execute('allToAll', send, so, recv, ro, send.length / this.size, dtype, opts, false, true, true);
  }

  /** ncclBarrier-like: returns when every rank has called it. */
  barrier(opts: { timeoutMs?: number } = {}): void {
    this.#execute('barrier', undefined, 0, undefined, 0, 0, 'uint8', opts, false, false, false);
  }

  // ---- point to point -------------------------------------------------------------

  /**
   * ncclSend/ncclRecv as one group: posts the send, completes the receive,
   * then waits for the send to be taken, so rings of sendRecv never deadlock.
   */
  sendRecv(send: P2pSide | undefined, recv: P2pSide | undefined, opts: P2pOptions = {}): void {
    if (this.#group) {
      this.#grouped(send, recv, opts);
      return;
    }
    this.#protocol.checkUsable(this.#destroyed);
    checkTimeoutOption(opts);
    const timeoutMs = opts.timeoutMs ?? this.#s.timeoutMs;
    if (send) poolOffset(this.#s.pool, send.data, 'send.data');
    if (recv) poolOffset(this.#s.pool, recv.data, 'recv.data');
    this.#p2p.run(send, recv, opts.dtype, timeoutMs);
  }

  /**
   * ncclGroupStart: until the matching groupEnd(), send, recv and sendRecv
   * only collect their transfers; groupEnd() runs them together, so any
   * pattern of sends and receives completes without deadlock. Groups nest;
   * the outermost end runs them.
   */
  groupStart(): void {
    this.#protocol.checkUsable(this.#destroyed);
    if (!this.#group) this.#group = { depth: 0, sends: [], recvs: [], dtype: undefined, timeoutMs: undefined };
    this.#group.depth++;
  }

  /** ncclGroupEnd: runs the transfers collected since the outermost groupStart(). */
  groupEnd(): void {
    const g = this.#group;
    if (!g) throw new TransportError('EINVAL', 'groupEnd() without groupStart()');
    if (--g.depth > 0) return;
    this.#group = undefined;
    this.#protocol.checkUsable(this.#destroyed);
    const timeoutMs = g.timeoutMs ?? this.#s.timeoutMs;
    for (const [i, x] of g.sends.entries()) poolOffset(this.#s.pool, x.data, `sends[${i}].data`);
    for (const [i, x] of g.recvs.entries()) poolOffset(this.#s.pool, x.data, `recvs[${i}].data`);
    this.#p2p.runGroup(g.sends, g.recvs, g.dtype, timeoutMs);
  }

  #grouped(send: P2pSide | undefined, recv: P2pSide | undefined, opts: P2pOptions): void {
    const g = this.#group!;
    checkTimeoutOption(opts);
    if (opts.timeoutMs !== undefined) {
      g.timeoutMs = Math.max(g.timeoutMs ?? 0, opts.timeoutMs);
    }
    if (opts.dtype !== undefined) {
      checkDtype('options.dtype', opts.dtype);
      if (g.dtype !== undefined && g.dtype !== opts.dtype) throw new TransportError('EINVAL', `options.dtype ${opts.dtype} differs from ${g.dtype} given earlier in this group; one group names one dtype for Uint16Array data`);
      g.dtype = opts.dtype;
    }
    if (send) g.sends.push(send);
    if (recv) g.recvs.push(recv);
  }

  send(data: DeviceArray, peer: number, opts: P2pOptions = {}): void {
    this.sendRecv({ data, peer }, undefined, opts);
  }

  recv(data: DeviceArray, peer: number, opts: P2pOptions = {}): void {
    this.sendRecv(undefined, { data, peer }, opts);
  }

  // ---- registration -------------------------------------------------------------

  /**
   * ncclCommRegister: exports, pins and registers the device buffer holding
   * `data` now rather than on its first use. Calls on the buffer reuse the
   * registration until deregister(), destroy(), or the buffer is freed or
   * revoked (the next call naming it then fails on every rank).
   */
  register(data: DeviceArray): BufferRegistration {
    this.#protocol.checkUsable(this.#destroyed);
    poolOffset(this.#s.pool, data, 'data');
    const reg = this.#protocol.registration(data, 'data');
    const handle: BufferRegistration = { bytes: reg.bytes };
    registrations.set(handle, reg);
    return handle;
  }

  /** ncclCommDeregister: peers let go of their imports at their next call; the buffer can then move or be freed for good. */
  deregister(handle: BufferRegistration): void {
    if (this.#destroyed) throw new CollectiveError('EINVAL', 'communicator is destroyed');
    const reg = registrations.get(handle);
    if (!reg) throw new TransportError('EINVAL', 'not a registration returned by register()');
    this.#s.regs.deregister(reg);
  }

  /**
   * @internal How a peer over net names the buffer holding `data`: this
   * rank's endpoint address and the buffer's MR key (peers learn both from
   * setup and each call's descriptor), or undefined without net peers. For
   * tests and diagnostics of what a key reaches between calls.
   */
  netReach(data: DeviceArray): { address: EndpointAddress; key: number } | undefined {
    this.#protocol.checkUsable(this.#destroyed);
    poolOffset(this.#s.pool, data, 'data');
    const reg = this.#protocol.registration(data, 'data');
    const port = this.#s.port;
    return port && reg.mr ? { address: port.address, key: reg.mr.key } : undefined;
  }

  /**
   * @internal Sends what peers in other processes wait for from this rank
   * (acknowledgements of what landed here): a thread that stops calling
   * in, between tasks or before it sleeps, must not leave them waiting.
   */
  quiesce(): void {
    if (this.#destroyed) return;
    this.#s.port?.ep.flush();
    if (this.#hier) {
      this.#hier.local.quiesce();
      this.#hier.cross.quiesce();
    }
  }

  /** @internal lets go of registrations and imports of freed buffers (World calls it between tasks). */
  sweep(): void {
    if (!this.#destroyed && !this.#protocol.error) this.#protocol.sweep();
  }

  // ---- lifecycle -------------------------------------------------------------

  /** Every rank's record (or its parent record, when it has none for the child), exchanged with an all-gather of fixed-size slots. */
  #gatherRecords(mine: PeerRecord | undefined): PeerRecord[] {
    const s = this.#s;
    const n = this.size;
    const text = new TextEncoder().encode(JSON.stringify(mine ?? s.directory![this.rank]!));
    if (text.length > RECORD_BYTES - 4) throw new TransportError('EINVAL', `a rank record of ${text.length} bytes does not fit the ${RECORD_BYTES}-byte exchange`);
    const buf = s.device.allocate(Math.ceil((n * RECORD_BYTES) / 4096) * 4096);
    try {
      const all = new Uint8Array(s.pool.memory.buffer as ArrayBuffer, buf.offset, n * RECORD_BYTES);
      const slot = all.subarray(this.rank * RECORD_BYTES, (this.rank + 1) * RECORD_BYTES);
      new DataView(slot.buffer, slot.byteOffset, 4).setInt32(0, text.length, true);
      slot.set(text, 4);
      this.#execute('split', slot, slot.byteOffset, all, all.byteOffset, RECORD_BYTES, 'uint8', this.#roundOptions(), true, true, true);
      return Array.from({ length: n }, (_, q) => {
        const at = q * RECORD_BYTES;
        const len = new DataView(all.buffer, all.byteOffset + at, 4).getInt32(0, true);
        return JSON.parse(new TextDecoder().decode(all.slice(at + 4, at + 4 + len))) as PeerRecord;
      });
    } finally {
      this.#s.regs.sweep(true);
      s.device.free(buf);
    }
  }

  /**
   * ncclCommSplit: ranks with the same color form a new communicator,
   * ordered by key then by old rank; color -1 takes no part.
   */
  split(color: number, key: number, options: CommOptions = {}): Communicator | undefined {
    if (!Number.isInteger(color) || color < -1) throw new TransportError('EINVAL', `color must be a non-negative integer or -1 (got ${String(color)})`);
    if (!Number.isInteger(key) || Math.abs(key) > 0x7fffffff) throw new TransportError('EINVAL', `key must be a 32-bit integer (got ${String(key)})`);
    // Before the exchange page is written: destroy() gave it back, and another owner may hold it now.
    this.#protocol.checkUsable(this.#destroyed, 'split');
    // Its exchanges and barrier are steps of one user's call.
    const p = this.#protocol;
    const mark = p.enterUserCall('split', 0, 'uint8', 'sum', 0, STEPS_ALGO);
    let ok = false;
    try {
      const child = this.#split(color, key, options, ++this.#splits);
      ok = true;
      return child;
    } finally {
      p.finishUserCall(mark, ok);
      p.leaveUserCall();
    }
  }

  #split(color: number, key: number, options: CommOptions, index: number): Communicator | undefined {
    const n = this.size;
    const s = this.#s;
    const all = new Int32Array(s.pool.memory.buffer as ArrayBuffer, s.internalBuf.offset, 2 * n);
    all[2 * this.rank] = color;
    all[2 * this.rank + 1] = key;
    const mine = all.subarray(2 * this.rank, 2 * this.rank + 2);
    this.#execute('split', mine, mine.byteOffset, all, all.byteOffset, 2, 'int32', this.#roundOptions(), true, true, true);
    const members: number[] = [];
    for (let q = 0; q < n; q++) if (all[2 * q] === color) members.push(q);
    members.sort((a, b) => all[2 * a + 1]! - all[2 * b + 1]! || a - b);
    // Each process's first member makes the child's block there; a second
    // exchange tells the members of that process where it is.
    const here = (q: number) => s.directory === undefined || s.directory[q]!.process === s.pool.identity;
    const localMembers = members.filter(here);
    const leader = localMembers[0];
    let idWords: [number, number] = [0, 0];
    if (color !== -1 && leader === this.rank) {
      const id = createCommId(s.pool, members.length, localMembers.length);
      idWords = [id.offset, id.token];
    }
    all[2 * this.rank] = idWords[0];
    all[2 * this.rank + 1] = idWords[1];
    this.#execute('split', mine, mine.byteOffset, all, all.byteOffset, 2, 'int32', this.#roundOptions(), true, true, true);
    const childOptions = { timeoutMs: s.timeoutMs, slotBytes: s.slotBytes, hostRanks: s.hostRanks, ...options };
    const id: CommId | undefined = color === -1 ? undefined : { kind: 'comm-id', pool: s.pool.id, offset: all[2 * leader!]!, nranks: members.length, token: all[2 * leader! + 1]!, label: `${s.label}.${index}-${color}` };
    if (s.directory === undefined) return id && Communicator.init(s.device, id, members.indexOf(this.rank), childOptions);
    // Across processes, every child with members elsewhere prepares its
    // endpoint, the records cross through this communicator, and nobody
    // sends before every member has finished joining.
    const prepared = id && localMembers.length < members.length ? Communicator.prepare(s.device, id, members.indexOf(this.rank), childOptions, 'tcp') : undefined;
    let records: PeerRecord[];
    try {
      records = this.#gatherRecords(prepared?.record);
    } catch (e) {
      prepared?.abandon((e as Error).message);
      throw e;
    }
    const child = id && (prepared ? prepared.finish(members.map((q) => ({ ...records[q]!, rank: members.indexOf(q) }))) : Communicator.init(s.device, id, members.indexOf(this.rank), childOptions));
    this.barrier({ timeoutMs: this.#roundTimeoutMs ?? this.#s.timeoutMs });
    return child;
  }

  /** ncclCommAbort: every rank waiting in a call of this communicator fails now; this rank's part is destroyed. */
  abort(): void {
    if (this.#destroyed) return;
    this.#protocol.abort(`rank ${this.rank} called abort()`);
    this.destroy();
  }

  /** ncclCommDestroy: releases this rank's scratch, registrations and imports. */
  destroy(): void {
    if (this.#destroyed) throw new CollectiveError('EINVAL', 'communicator is already destroyed');
    this.#destroyed = true;
    if (this.#hier) {
      for (const c of [this.#hier.local, this.#hier.cross]) if (!c.#destroyed) c.destroy();
      this.#hier.scratch.release();
    }
    // A peer still inside a failed call may touch this rank's memory: wait for it first.
    if (Atomics.load(this.#s.words, Hdr.ABORTED) !== 0) this.#protocol.drain();
    teardownComm(this.#s, this.#protocol.undrained);
  }
}

/**
 * NCCL's placement rules: `inner` is in place when it starts at `at` inside
 * `outer` (the same view for allReduce, broadcast and reduce; this rank's
 * block for allGather and reduceScatter); any other overlap is refused.
 */
function placement(kind: string, inner: DeviceArray, io: number, outer: DeviceArray, oo: number, atElement: number): boolean {
  const ib = inner.length * inner.BYTES_PER_ELEMENT;
  const ob = outer.length * outer.BYTES_PER_ELEMENT;
  if (!overlap(io, ib, oo, ob)) return false;
  if (io === oo + atElement * outer.BYTES_PER_ELEMENT && io + ib <= oo + ob) return true;
  throw new TransportError('EINVAL', `${kind}: send and recv overlap without being in place; in place means ${kind === 'allGather' ? "send is this rank's block of recv" : kind === 'reduceScatter' ? "recv is this rank's block of send" : 'send and recv are the same view'}; otherwise use separate memory`);
}

function overlap(ao: number, ab: number, bo: number, bb: number): boolean {
  return ab > 0 && bb > 0 && ao < bo + bb && bo < ao + ab;
}
