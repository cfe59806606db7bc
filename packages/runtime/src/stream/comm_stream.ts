import { type Pool, TransportError } from '@collective/transport';
import { ALGORITHMS, PROTOCOLS } from '../algorithm.js';
import { CollectiveError } from '../comm_errors.js';
import type { CollectiveKind } from '../collective_kind.js';
import { checkCollectiveOptions, checkTimeoutOption, type CollectiveOptions, type P2pOptions } from '../collective_options.js';
import { type DeviceArray, dtypeOf, poolOffset } from '../device_array.js';
import { DTYPES } from '../dtypes.js';
import { OPS } from '../ops.js';
import { E, Op, S, SLOTS, State, StreamBlock } from './stream_block.js';
import { Work, type WorkSource } from './work.js';

/** Spins on DONE this long before sleeping: a small call on an idle stream finishes within it. */
const SPIN_MS = 0.05;
/** Sleep slice: the stream's death is noticed this often. */
const WAIT_SLICE_MS = 20;
/** How long close() waits for the stream to finish its queue and leave. */
const STOP_TIMEOUT_MS = 60_000;

const OP_OF: Partial<Record<CollectiveKind, Op>> = {
  allReduce: Op.ALL_REDUCE,
  allGather: Op.ALL_GATHER,
  reduceScatter: Op.REDUCE_SCATTER,
  broadcast: Op.BROADCAST,
  reduce: Op.REDUCE,
  allToAll: Op.ALL_TO_ALL,
};

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
  private issued = 0;
  /** failures of slots since reused: seq → error */
  private readonly failures = new Map<number, Error>();
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
  }

  // ---- collectives ----------------------------------------------------------------

  allReduce(send: DeviceArray, recv: DeviceArray, opts: CollectiveOptions = {}): void {
    this.allReduceAsync(send, recv, opts).wait();
  }

  allReduceAsync(send: DeviceArray, recv: DeviceArray, opts: CollectiveOptions = {}): Work {
    return this.collective('allReduce', send, recv, opts);
  }

  allGather(send: DeviceArray, recv: DeviceArray, opts: CollectiveOptions = {}): void {
    this.allGatherAsync(send, recv, opts).wait();
  }

  allGatherAsync(send: DeviceArray, recv: DeviceArray, opts: CollectiveOptions = {}): Work {
    return this.collective('allGather', send, recv, opts);
  }

  reduceScatter(send: DeviceArray, recv: DeviceArray, opts: CollectiveOptions = {}): void {
    this.reduceScatterAsync(send, recv, opts).wait();
  }

  reduceScatterAsync(send: DeviceArray, recv: DeviceArray, opts: CollectiveOptions = {}): Work {
    return this.collective('reduceScatter', send, recv, opts);
  }

  broadcast(send: DeviceArray, recv: DeviceArray, opts: CollectiveOptions = {}): void {
    this.broadcastAsync(send, recv, opts).wait();
  }

  broadcastAsync(send: DeviceArray, recv: DeviceArray, opts: CollectiveOptions = {}): Work {
    return this.collective('broadcast', send, recv, opts);
  }

  reduce(send: DeviceArray, recv: DeviceArray, opts: CollectiveOptions = {}): void {
    this.reduceAsync(send, recv, opts).wait();
  }

  reduceAsync(send: DeviceArray, recv: DeviceArray, opts: CollectiveOptions = {}): Work {
    return this.collective('reduce', send, recv, opts);
  }

  allToAll(send: DeviceArray, recv: DeviceArray, opts: CollectiveOptions = {}): void {
    this.allToAllAsync(send, recv, opts).wait();
  }

  allToAllAsync(send: DeviceArray, recv: DeviceArray, opts: CollectiveOptions = {}): Work {
    return this.collective('allToAll', send, recv, opts);
  }

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
    this.awaitFinished(this.issued, timeoutMs);
    const e = this.asyncError();
    if (e) throw e;
  }

  /** Calls issued and not finished. */
  get pending(): number {
    return Math.max(0, this.issued - Atomics.load(this.w, S.DONE));
  }

  /** ncclCommGetAsyncError: the error that made the stream's communicator unusable, if any. */
  asyncError(): Error | undefined {
    const a = this.block.asyncError();
    if (a) return new CollectiveError(a.code, a.message);
    if (Atomics.load(this.w, S.DEAD) !== 0) return this.deadError();
    return undefined;
  }

  finished(seq: number): boolean {
    return Atomics.load(this.w, S.DONE) >= seq || Atomics.load(this.w, S.DEAD) !== 0;
  }

  errorOf(seq: number): Error | undefined {
    if (Atomics.load(this.w, S.DONE) < seq) return Atomics.load(this.w, S.DEAD) !== 0 ? this.deadError() : undefined;
    if (this.block.statusSeq(seq) === seq) {
      if (this.block.statusState(seq) === State.OK) return undefined;
      const m = this.block.message(seq);
      return new CollectiveError(m.code, m.message);
    }
    return this.failures.get(seq);
  }

  waitFor(seq: number, timeoutMs: number): void {
    this.awaitFinished(seq, timeoutMs);
    const e = this.errorOf(seq);
    if (e) throw e;
  }

  /** Bounded as awaitFinished: by the calls' own deadlines, or the stream's death (DEAD). */
  async finishedAsync(seq: number): Promise<void> {
    const w = this.w;
    for (;;) {
      if (this.finished(seq)) return;
      const cur = Atomics.load(w, S.DONE);
      Atomics.add(w, S.WAITERS, 1);
      try {
        if (this.finished(seq)) return;
        // Atomics.waitAsync leaves the event loop free while the stream works.
        const r = waitAsync(w, S.DONE, cur, WAIT_SLICE_MS);
        if (r.async) await r.value;
      } finally {
        Atomics.sub(w, S.WAITERS, 1);
      }
    }
  }

  /**
   * Waits until call `seq` finished or the stream died. With timeoutMs
   * Infinity it is still bounded: the stream runs one call at a time, each
   * ends at its own deadline (its timeoutMs, or the communicator's), and a
   * stream thread that dies sets DEAD (StreamThreads, from its exit).
   */
  private awaitFinished(seq: number, timeoutMs: number): void {
    const w = this.w;
    if (this.finished(seq)) return;
    const start = performance.now();
    const spinUntil = start + SPIN_MS;
    while (performance.now() < spinUntil) if (this.finished(seq)) return;
    const deadline = start + timeoutMs;
    Atomics.add(w, S.WAITERS, 1);
    try {
      for (;;) {
        const cur = Atomics.load(w, S.DONE);
        if (cur >= seq || Atomics.load(w, S.DEAD) !== 0) return;
        const left = deadline - performance.now();
        if (left <= 0) {
          throw new CollectiveError('ETIMEDOUT', `call #${seq} on the stream of rank ${this.rank} has not finished within ${timeoutMs} ms (${this.issued - cur} call(s) still queued or running); it goes on: wait again or synchronize()`);
        }
        Atomics.wait(w, S.DONE, cur, Math.min(left, WAIT_SLICE_MS));
      }
    } finally {
      Atomics.sub(w, S.WAITERS, 1);
    }
  }

  private deadError(): Error {
    return new CollectiveError('EIO', `the communication stream of rank ${this.rank} is gone (its thread died or could not start); calls it had not finished are lost`);
  }

  // ---- issuing --------------------------------------------------------------------

  private collective(kind: CollectiveKind, send: DeviceArray, recv: DeviceArray, opts: CollectiveOptions): Work {
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
    const op = OP_OF[kind]!;
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
      this.awaitFinished(seq - SLOTS, Infinity);
      if (Atomics.load(this.w, S.DONE) < seq - SLOTS) throw this.deadError();
      const old = seq - SLOTS;
      const err = this.errorOf(old);
      if (err) this.failures.set(old, err);
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
    this.awaitFinished(this.issued, Infinity);
    const work = this.issue((e, at) => {
      e[at + E.OP] = Op.SWEEP;
    });
    this.awaitFinished(work.seq, Infinity);
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

/** Atomics.waitAsync (Node 16+), typed here: the TypeScript lib this build targets predates it. */
const waitAsync = (Atomics as unknown as { waitAsync(a: Int32Array, i: number, v: number, t: number): { async: boolean; value: Promise<string> | string } }).waitAsync;

function checkTimeout(opts: { timeoutMs?: number }): number {
  checkTimeoutOption(opts);
  return opts.timeoutMs ?? NaN;
}
