import { type Pool, TransportError } from '@collective/transport';
import { ALGORITHMS, PROTOCOLS } from '../algorithm.js';
import { CollectiveError } from '../comm_errors.js';
import type { CollectiveKind } from '../collective_kind.js';
import { checkCollectiveOptions, checkTimeoutOption, type CollectiveOptions, type P2pOptions } from '../collective_options.js';
import { type DeviceArray, dtypeOf, poolOffset } from '../device_array.js';
import { DTYPES } from '../dtypes.js';
import { OPS } from '../ops.js';
import { E, Op, S, SLOTS, StreamBlock } from './stream_block.js';
import { StreamWaits, WAIT_SLICE_MS } from './stream_waits.js';
import { Work, type WorkSource } from './work.js';

/** How long close() waits for the stream to finish its queue and leave. */
const STOP_TIMEOUT_MS = 60_000;

/** The collectives a stream runs, and each one's entry op. */
const OP_OF = {
  allReduce: Op.ALL_REDUCE,
  allGather: Op.ALL_GATHER,
  reduceScatter: Op.REDUCE_SCATTER,
  broadcast: Op.BROADCAST,
  reduce: Op.REDUCE,
  allToAll: Op.ALL_TO_ALL,
} as const satisfies Partial<Record<CollectiveKind, Op>>;
type StreamCollective = keyof typeof OP_OF;

/**
 * A device's communication stream, as the device thread sees it: the
 * collectives of ctx.comm, issued in order to a thread that runs them on
 * a communicator of its own while this thread computes (NCCL on a CUDA
 * stream; torch's ProcessGroup with async_op=True). Every collective has a
 * blocking form (issue, then wait) and an Async form returning a Work.
 *
 * Arguments are checked here as far as they can be without the stream's
 * communicator (memory, dtype, op, algorithm, protocol); the rest (shapes,
 * roots, registrations) fails the Work before anything is announced to
 * peers, and the stream stays usable. A failure after announcement aborts
 * the stream's communicator on every rank; then every later Work fails
 * with that error, which asyncError() reports.
 */
export class CommStream implements WorkSource {
  private readonly block: StreamBlock;
  private readonly w: Int32Array;
  private readonly waits: StreamWaits;
  private issued = 0;
  private groupDepth = 0;
  private closed = false;

  constructor(
    sab: SharedArrayBuffer,
    private readonly pool: Pool,
    readonly rank: number,
    readonly size: number,
  ) {
    this.block = new StreamBlock(sab);
    this.w = this.block.words;
    this.waits = new StreamWaits(this.block, rank);
  }

  // ---- collectives ----------------------------------------------------------------

  // Both forms of every collective come from one path (collective()), so the twelve cannot drift apart.
  readonly allReduce = this.blockingForm('allReduce');
  readonly allReduceAsync = this.asyncForm('allReduce');
  readonly allGather = this.blockingForm('allGather');
  readonly allGatherAsync = this.asyncForm('allGather');
  readonly reduceScatter = this.blockingForm('reduceScatter');
  readonly reduceScatterAsync = this.asyncForm('reduceScatter');
  readonly broadcast = this.blockingForm('broadcast');
  readonly broadcastAsync = this.asyncForm('broadcast');
  readonly reduce = this.blockingForm('reduce');
  readonly reduceAsync = this.asyncForm('reduce');
  readonly allToAll = this.blockingForm('allToAll');
  readonly allToAllAsync = this.asyncForm('allToAll');

  barrier(opts: { timeoutMs?: number } = {}): void {
    this.barrierAsync(opts).wait();
  }

  barrierAsync(opts: { timeoutMs?: number } = {}): Work {
    this.checkIssuable('barrier');
    const timeout = checkTimeout(opts);
    return this.issue((e, at) => {
      e[at + E.OP] = Op.BARRIER;
      e[at + E.TIMEOUT] = timeout;
    });
  }

  // ---- point to point -------------------------------------------------------------

  /** ncclGroupStart on the stream: sends and receives until groupEnd() run as one group. Groups nest. */
  groupStart(): void {
    this.checkOpen();
    this.groupDepth++;
  }

  /** ncclGroupEnd: the collected sends and receives run together on the stream; wait on the Work. */
  groupEnd(opts: P2pOptions = {}): Work | undefined {
    if (this.groupDepth === 0) throw new TransportError('EINVAL', 'groupEnd() without groupStart()');
    if (--this.groupDepth > 0) return undefined;
    const timeout = checkTimeout(opts);
    const dtype = opts.dtype === undefined ? -1 : DTYPES.indexOf(opts.dtype);
    return this.issue((e, at) => {
      e[at + E.OP] = Op.GROUP_END;
      e[at + E.TIMEOUT] = timeout;
      e[at + E.DTYPE] = dtype;
    });
  }

  /** ncclSend: blocking outside a group (a group of one); collected inside one. */
  send(data: DeviceArray, peer: number, opts: P2pOptions = {}): void {
    this.p2p(Op.GROUP_SEND, data, peer, opts)?.wait();
  }

  sendAsync(data: DeviceArray, peer: number, opts: P2pOptions = {}): Work {
    this.notInGroup('sendAsync');
    return this.p2p(Op.GROUP_SEND, data, peer, opts)!;
  }

  recv(data: DeviceArray, peer: number, opts: P2pOptions = {}): void {
    this.p2p(Op.GROUP_RECV, data, peer, opts)?.wait();
  }

  recvAsync(data: DeviceArray, peer: number, opts: P2pOptions = {}): Work {
    this.notInGroup('recvAsync');
    return this.p2p(Op.GROUP_RECV, data, peer, opts)!;
  }

  private p2p(op: Op, data: DeviceArray, peer: number, opts: P2pOptions): Work | undefined {
    this.checkOpen();
    const what = op === Op.GROUP_SEND ? 'send' : 'recv';
    if (typeof peer !== 'number' || !Number.isInteger(peer) || peer < 0 || peer >= this.size) {
      throw new TransportError('EINVAL', `${what}.peer must be an integer in [0, ${this.size}) (got ${String(peer)})`);
    }
    const dtype = dtypeOf(data, opts.dtype);
    const off = poolOffset(this.pool, data, `${what}.data`);
    const alone = this.groupDepth === 0;
    if (alone) this.groupStart();
    this.issue((e, at) => {
      e[at + E.OP] = op;
      e[at + E.DTYPE] = DTYPES.indexOf(dtype);
      e[at + E.SEND_OFF] = off;
      e[at + E.SEND_LEN] = data.length;
      e[at + E.PEER] = peer;
    });
    return alone ? this.groupEnd(opts) : undefined;
  }

  /** Inside a group the group has one Work, returned by groupEnd(). */
  private notInGroup(what: string): void {
    if (this.groupDepth > 0) throw new TransportError('EINVAL', `${what} inside a group: the group's one Work comes from groupEnd(); use send/recv inside groups`);
  }

  // ---- waiting --------------------------------------------------------------------

  /**
   * Waits for every call issued so far; throws the async error if a
   * failure made the stream unusable. No deadline by default, as
   * Work.wait(): each call ends at its own timeoutMs.
   */
  synchronize(timeoutMs = Infinity): void {
    this.waits.awaitFinished(this.issued, timeoutMs);
    const e = this.asyncError();
    if (e) throw e;
  }

  /** Calls issued and not finished. */
  get pending(): number {
    return Math.max(0, this.issued - Atomics.load(this.w, S.DONE));
  }

  /** ncclCommGetAsyncError: the error that made the stream's communicator unusable, if any. */
  asyncError(): Error | undefined {
    return this.waits.asyncError();
  }

  finished(seq: number): boolean {
    return this.waits.finished(seq);
  }

  errorOf(seq: number): Error | undefined {
    return this.waits.errorOf(seq);
  }

  waitFor(seq: number, timeoutMs: number): void {
    this.waits.waitFor(seq, timeoutMs);
  }

  finishedAsync(seq: number): Promise<void> {
    return this.waits.finishedAsync(seq);
  }

  // ---- issuing --------------------------------------------------------------------

  /** A collective's blocking form: issue, then wait. */
  private blockingForm(kind: StreamCollective): (send: DeviceArray, recv: DeviceArray, opts?: CollectiveOptions) => void {
    return (send, recv, opts = {}) => this.collective(kind, send, recv, opts).wait();
  }

  /** A collective's Async form: issue, and return the Work. */
  private asyncForm(kind: StreamCollective): (send: DeviceArray, recv: DeviceArray, opts?: CollectiveOptions) => Work {
    return (send, recv, opts = {}) => this.collective(kind, send, recv, opts);
  }

  private collective(kind: StreamCollective, send: DeviceArray, recv: DeviceArray, opts: CollectiveOptions): Work {
    this.checkIssuable(kind);
    checkCollectiveOptions(kind, opts, this.size);
    const sendType = dtypeOf(send, opts.dtype);
    const recvType = dtypeOf(recv, opts.dtype);
    if (sendType !== recvType) throw new TransportError('EINVAL', `send is ${sendType} but recv is ${recvType}; they must have the same dtype`);
    const sendOff = poolOffset(this.pool, send, 'send');
    const recvOff = poolOffset(this.pool, recv, 'recv');
    const algo = opts.algo === undefined ? -1 : ALGORITHMS.indexOf(opts.algo as never);
    const proto = opts.proto === undefined ? -1 : PROTOCOLS.indexOf(opts.proto as never);
    const timeout = checkTimeout(opts);
    const op = OP_OF[kind];
    return this.issue((e, at) => {
      e[at + E.OP] = op;
      e[at + E.DTYPE] = DTYPES.indexOf(sendType);
      e[at + E.REDOP] = opts.op === undefined ? -1 : OPS.indexOf(opts.op);
      e[at + E.ROOT] = opts.root ?? NaN;
      e[at + E.SEND_OFF] = sendOff;
      e[at + E.SEND_LEN] = send.length;
      e[at + E.RECV_OFF] = recvOff;
      e[at + E.RECV_LEN] = recv.length;
      e[at + E.ALGO] = algo;
      e[at + E.PROTO] = proto;
      e[at + E.TIMEOUT] = timeout;
    });
  }

  private checkOpen(): void {
    if (this.closed) throw new TransportError('EINVAL', 'the communication stream is closed');
  }

  private checkIssuable(kind: string): void {
    this.checkOpen();
    if (this.groupDepth > 0) throw new TransportError('EINVAL', `${kind} inside groupStart()/groupEnd(): a group batches send and recv only; end the group first`);
  }

  /** Publishes one entry, waiting for room in the ring; the slot's last occupant is remembered if it failed. */
  private issue(fill: (e: Float64Array, at: number) => void): Work {
    const seq = this.issued + 1;
    if (seq > SLOTS) {
      // The ring is full: the oldest call's own deadline bounds this.
      this.waits.awaitFinished(seq - SLOTS, Infinity);
      if (Atomics.load(this.w, S.DONE) < seq - SLOTS) throw this.waits.deadError();
      this.waits.retire(seq - SLOTS);
    }
    const e = this.block.entries;
    const at = this.block.entryAt(seq);
    e.fill(-1, at, at + E.WORDS);
    e[at + E.SEQ] = seq;
    e[at + E.TIMEOUT] = NaN;
    e[at + E.ROOT] = NaN;
    fill(e, at);
    this.issued = seq;
    // The atomic store publishes the entry's plain stores before it.
    Atomics.store(this.w, S.HEAD, seq);
    if (Atomics.load(this.w, S.STREAM_SLEEPING) !== 0) Atomics.notify(this.w, S.HEAD);
    return new Work(this, seq);
  }

  /**
   * @internal Waits for every issued call (their errors stay on their
   * Works), then has the stream let go of registrations of freed buffers,
   * so their pages return to the pool (World does this after each task).
   */
  quiesce(): void {
    if (this.closed || Atomics.load(this.w, S.DEAD) !== 0) return;
    // Both waits end at the calls' own deadlines (a sweep has none of its own: its drains are bounded).
    this.waits.awaitFinished(this.issued, Infinity);
    const work = this.issue((e, at) => {
      e[at + E.OP] = Op.SWEEP;
    });
    this.waits.awaitFinished(work.seq, Infinity);
  }

  /** @internal Lets the stream finish its queue and leave (World.close). */
  stop(): void {
    if (this.closed) return;
    this.closed = true;
    Atomics.store(this.w, S.STOP, 1);
    Atomics.notify(this.w, S.HEAD);
    const end = performance.now() + STOP_TIMEOUT_MS;
    while (Atomics.load(this.w, S.STOPPED) === 0 && Atomics.load(this.w, S.DEAD) === 0) {
      const left = end - performance.now();
      if (left <= 0) throw new CollectiveError('ETIMEDOUT', `the stream of rank ${this.rank} did not stop within ${STOP_TIMEOUT_MS} ms; it finishes its queue first, each call within its own timeoutMs: synchronize() before closing, or give the calls shorter timeouts`);
      Atomics.wait(this.w, S.STOPPED, 0, Math.min(left, WAIT_SLICE_MS));
    }
  }
}


function checkTimeout(opts: { timeoutMs?: number }): number {
  checkTimeoutOption(opts);
  return opts.timeoutMs ?? NaN;
}
