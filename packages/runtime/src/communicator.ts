import { type Device, type EndpointAddress, type Pool, type ProviderName, TransportError } from '@collective/transport';
import { CallArgs } from './call_args.js';
import { CallChoice } from './call_choice.js';
import { CollectiveError } from './comm_errors.js';
import { checkCollectiveOptions, checkTimeoutOption, type CollectiveOptions, type P2pOptions } from './collective_options.js';
import { abortInfo } from './comm_base/abort_state.js';
import { CallProtocol, type CallRequest } from './comm/call_protocol.js';
import { Hdr } from './comm_base/comm_block.js';
import { STEPS_ALGO } from './comm/flight_recorder.js';
import { type CommId, createCommId } from './comm/comm_id.js';
import { type CommOptions, prepareComm, setupComm } from './comm/comm_setup.js';
import type { CommState } from './comm/comm_state.js';
import { teardownComm } from './comm/comm_teardown.js';
import { P2pGroupCollector } from './comm_group.js';
import { type BufferRegistration, deregisterBuffer, netReachOf, registerBuffer } from './comm_registration.js';
import { CommHierarchy } from './comm_hier.js';
import { checkSplitArgs, type PreparedComm, type SplitParent, splitComm } from './comm_split.js';
import type { CollectiveKind } from './collective_kind.js';
import { type DeviceArray, poolOffset } from './device_array.js';
import { DTYPE_BYTES, type Dtype } from './dtypes.js';
import { type P2pSide, PointToPoint } from './point_to_point.js';
import { AVG_OVER, type ChildOptions, type Hierarchy, hierAllGather, hierAllReduce, hierBroadcast, hierReduceScatter } from './hierarchy.js';

export type { CommId } from './comm/comm_id.js';
export type { CommOptions } from './comm/comm_setup.js';
export type { PeerRecord } from './comm_base/peer_record.js';

/** @internal A communicator half way through init (Communicator.prepare). */
export type PreparedCommunicator = PreparedComm<Communicator>;
export type { P2pSide } from './point_to_point.js';

export type { CollectiveOptions, P2pOptions } from './collective_options.js';

export type { BufferRegistration } from './comm_registration.js';

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
  /** the calls' algorithms */
  readonly #choice: CallChoice;
  #destroyed = false;
  /** hierarchical calls and their children */
  readonly #hier: CommHierarchy<Communicator>;
  /** split() calls so far: a child's name is its parent's, this number and its color, the same on every process */
  #splits = 0;
  /** the calls' arrays: their dtypes and offsets */
  readonly #args: CallArgs;
  /** transfers collected between groupStart() and groupEnd() */
  readonly #group = new P2pGroupCollector();
  /** one request object, refilled per call: calls never overlap on a rank */
  readonly #req: CallRequest = { kind: 'barrier', send: undefined, recv: undefined, sendOff: 0, recvOff: 0, count: 0, dtype: 'uint8', op: 'sum', avgOver: 0, root: 0, timeoutMs: 0, alg: undefined, inPlace: false, reads: false, writes: false };

  private constructor(s: CommState) {
    this.#s = s;
    this.#args = new CallArgs(s.pool);
    this.#choice = new CallChoice(s.size, s.directory !== undefined);
    this.#protocol = new CallProtocol(s);
    this.#p2p = new PointToPoint(s, this.#protocol);
    this.#hier = new CommHierarchy<Communicator>({
      s,
      protocol: this.#protocol,
      envAlgo: this.#choice.envAlgo,
      protocolOf: (c) => c.#protocol,
      split: (color, key, options) => this.split(color, key, options),
    });
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
    const h = this.#hier.last;
    if (h) return { algo: 'hier', proto: [...new Set([h.local.lastAlgorithm?.proto, h.cross.lastAlgorithm?.proto].filter((p) => p !== undefined))].join('+') };
    const a = this.#choice.last;
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

  /** Refuses a call's bad options before anything is announced; the checked op, root and timeout go into the request. */
  #checkOptions(kind: CollectiveKind, opts: CollectiveOptions): void {
    this.#protocol.checkUsable(this.#destroyed, kind);
    if (this.#group.open) throw new TransportError('EINVAL', `${kind} inside groupStart()/groupEnd(): a group batches send and recv only; end the group first`);
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
    const alg = this.#choice.pick(kind, bytes, opts);
    this.#hier.last = undefined;
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

  /** A hierarchical call: its options checked here, its steps run over the children as one user's call of this communicator. */
  #composed(kind: CollectiveKind, opts: CollectiveOptions, count: number, dtype: Dtype, steps: (h: Hierarchy<Communicator>) => void): void {
    this.#checkOptions(kind, opts);
    this.#hier.compose(kind, this.#req, count, dtype, steps);
  }

  /** ncclAllReduce: every rank gets the reduction of every rank's send. In place when send and recv are the same view. */
  allReduce(send: DeviceArray, recv: DeviceArray, opts: CollectiveOptions = {}): void {
    const a = this.#args;
    const dtype = a.check('allReduce', send, recv, opts.dtype, this.rank, this.size, false);
    if (this.#s.directory && this.#hier.wanted('allReduce', opts, this.#destroyed)) return this.#composed('allReduce', opts, send.length, dtype, (h) => hierAllReduce(h, send, recv, opts));
    this.#execute('allReduce', send, a.sendOff, recv, a.recvOff, send.length, dtype, opts, a.inPlace, true, true);
  }

  /** ncclAllGather: rank q's send lands at block q of every rank's recv. In place when send is this rank's block of recv. */
  allGather(send: DeviceArray, recv: DeviceArray, opts: CollectiveOptions = {}): void {
    const a = this.#args;
    const dtype = a.check('allGather', send, recv, opts.dtype, this.rank, this.size, false);
    if (this.#s.directory && this.#hier.wanted('allGather', opts, this.#destroyed)) return this.#composed('allGather', opts, send.length, dtype, (h) => hierAllGather(h, send, recv, opts));
    this.#execute('allGather', send, a.sendOff, recv, a.recvOff, send.length, dtype, opts, a.inPlace, true, true);
  }

  /** ncclReduceScatter: block r of the reduction lands in rank r's recv. In place when recv is this rank's block of send. */
  reduceScatter(send: DeviceArray, recv: DeviceArray, opts: CollectiveOptions = {}): void {
    const a = this.#args;
    const dtype = a.check('reduceScatter', send, recv, opts.dtype, this.rank, this.size, false);
    if (this.#s.directory && this.#hier.wanted('reduceScatter', opts, this.#destroyed)) return this.#composed('reduceScatter', opts, recv.length, dtype, (h) => hierReduceScatter(h, send, recv, opts));
    this.#execute('reduceScatter', send, a.sendOff, recv, a.recvOff, recv.length, dtype, opts, a.inPlace, true, true);
  }

  /** ncclBroadcast: the root's send lands in every rank's recv; send is read only on the root. */
  broadcast(send: DeviceArray, recv: DeviceArray, opts: CollectiveOptions = {}): void {
    const root = this.rank === (opts.root ?? 0);
    const a = this.#args;
    const dtype = a.check('broadcast', send, recv, opts.dtype, this.rank, this.size, root);
    if (this.#s.directory && this.#hier.wanted('broadcast', opts, this.#destroyed)) return this.#composed('broadcast', opts, recv.length, dtype, (h) => hierBroadcast(h, send, recv, opts));
    this.#execute('broadcast', root ? send : undefined, a.sendOff, recv, a.recvOff, recv.length, dtype, opts, a.inPlace, root, true);
  }

  /** ncclReduce: the reduction lands in the root's recv; other ranks' recv is untouched. */
  reduce(send: DeviceArray, recv: DeviceArray, opts: CollectiveOptions = {}): void {
    const root = this.rank === (opts.root ?? 0);
    const a = this.#args;
    const dtype = a.check('reduce', send, recv, opts.dtype, this.rank, this.size, root);
    this.#execute('reduce', send, a.sendOff, recv, a.recvOff, send.length, dtype, opts, a.inPlace, true, root);
  }

  /** ncclAlltoAll: block q of send goes to rank q, landing at block `rank` of its recv. */
  allToAll(send: DeviceArray, recv: DeviceArray, opts: CollectiveOptions = {}): void {
    const a = this.#args;
    const dtype = a.check('allToAll', send, recv, opts.dtype, this.rank, this.size, false);
    this.#execute('allToAll', send, a.sendOff, recv, a.recvOff, send.length / this.size, dtype, opts, false, true, true);
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
    if (this.#group.open) {
      this.#group.add(send, recv, opts);
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
    this.#group.start();
  }

  /** ncclGroupEnd: runs the transfers collected since the outermost groupStart(). */
  groupEnd(): void {
    const g = this.#group.end();
    if (!g) return;
    this.#protocol.checkUsable(this.#destroyed);
    const timeoutMs = g.timeoutMs ?? this.#s.timeoutMs;
    for (const [i, x] of g.sends.entries()) poolOffset(this.#s.pool, x.data, `sends[${i}].data`);
    for (const [i, x] of g.recvs.entries()) poolOffset(this.#s.pool, x.data, `recvs[${i}].data`);
    this.#p2p.runGroup(g.sends, g.recvs, g.dtype, timeoutMs);
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
    return registerBuffer(this.#s, this.#protocol, data);
  }

  /** ncclCommDeregister: peers let go of their imports at their next call; the buffer can then move or be freed for good. */
  deregister(handle: BufferRegistration): void {
    if (this.#destroyed) throw new CollectiveError('EINVAL', 'communicator is destroyed');
    deregisterBuffer(this.#s, handle);
  }

  /**
   * @internal How a peer over net names the buffer holding `data`: this
   * rank's endpoint address and the buffer's MR key (peers learn both from
   * setup and each call's descriptor), or undefined without net peers. For
   * tests and diagnostics of what a key reaches between calls.
   */
  netReach(data: DeviceArray): { address: EndpointAddress; key: number } | undefined {
    this.#protocol.checkUsable(this.#destroyed);
    return netReachOf(this.#s, this.#protocol, data);
  }

  /**
   * @internal Sends what peers in other processes wait for from this rank
   * (acknowledgements of what landed here): a thread that stops calling
   * in, between tasks or before it sleeps, must not leave them waiting.
   */
  quiesce(): void {
    if (this.#destroyed) return;
    this.#s.port?.ep.flush();
    this.#hier.quiesce();
  }

  /** @internal lets go of registrations and imports of freed buffers (World calls it between tasks). */
  sweep(): void {
    if (!this.#destroyed && !this.#protocol.error) this.#protocol.sweep();
  }

  // ---- lifecycle -------------------------------------------------------------

  /**
   * ncclCommSplit: ranks with the same color form a new communicator,
   * ordered by key then by old rank; color -1 takes no part.
   */
  split(color: number, key: number, options: CommOptions = {}): Communicator | undefined {
    checkSplitArgs(color, key);
    // Before the exchange page is written: destroy() gave it back, and another owner may hold it now.
    this.#protocol.checkUsable(this.#destroyed, 'split');
    // Its exchanges and barrier are steps of one user's call.
    const p = this.#protocol;
    const mark = p.enterUserCall('split', 0, 'uint8', 'sum', 0, STEPS_ALGO);
    let ok = false;
    try {
      const child = splitComm(this.#splitParent(), color, key, options, ++this.#splits);
      ok = true;
      return child;
    } finally {
      p.finishUserCall(mark, ok);
      p.leaveUserCall();
    }
  }

  /** What split's rounds need of this communicator: its exchanges run direct, within the deadline of the user's call they serve. */
  #splitParent(): SplitParent<Communicator> {
    const timeoutMs = this.#hier.roundTimeoutMs;
    const opts: CollectiveOptions = timeoutMs === undefined ? { algo: 'direct' } : { algo: 'direct', timeoutMs };
    return {
      s: this.#s,
      exchange: (mine, all, count, dtype) => this.#execute('split', mine, mine.byteOffset, all, all.byteOffset, count, dtype, opts, true, true, true),
      barrier: () => this.barrier({ timeoutMs: timeoutMs ?? this.#s.timeoutMs }),
      init: Communicator.init,
      prepare: Communicator.prepare,
    };
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
    this.#hier.destroy();
    // A peer still inside a failed call may touch this rank's memory: wait for it first.
    if (Atomics.load(this.#s.words, Hdr.ABORTED) !== 0) this.#protocol.drain();
    teardownComm(this.#s, this.#protocol.undrained);
  }
}
