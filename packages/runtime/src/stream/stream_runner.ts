import { type Pool, TransportError } from '@collective/transport';
import { ALGORITHMS, PROTOCOLS } from '../algorithm.js';
import type { CollectiveOptions, Communicator, P2pSide } from '../communicator.js';
import { type DeviceArray, viewOf } from '../device_array.js';
import { DTYPES, type Dtype } from '../dtypes.js';
import { OPS } from '../ops.js';
import { E, Op, S, State, type StreamBlock } from './stream_block.js';

/** How long the stream spins on an empty ring before it sleeps (it shares the cores with the device threads). */
const SPIN_MS = 0.05;
/** Sleep slice while idle: STOP and DEAD are checked this often. */
const IDLE_SLICE_MS = 50;

/**
 * The stream's side: takes the device thread's entries in issue order and
 * runs each on the stream's communicator, blocking, then publishes the
 * outcome. An input error fails only its own entry (nothing was announced);
 * a failure after announcement aborts the communicator, so every later
 * entry fails with the async error, as NCCL's stream does after an abort.
 */
export class StreamRunner {
  private next = 1;
  /** recent views by (offset, length, dtype): the communicator's caches key on view identity */
  private readonly views: DeviceArray[] = [];
  private readonly viewKeys: [number, number, Dtype][] = [];
  private viewNext = 0;
  private sends: P2pSide[] = [];
  private recvs: P2pSide[] = [];
  /** a part of the open group that could not be taken: the whole group fails with it */
  private groupError: unknown;

  constructor(
    private readonly block: StreamBlock,
    private readonly comm: Communicator,
    private readonly pool: Pool,
  ) {}

  /** Runs entries until STOP; returns after the last published entry finished. */
  run(): void {
    for (;;) {
      const head = this.waitForWork();
      if (head < this.next) return;
      for (; this.next <= head; this.next++) this.execute(this.next);
    }
  }

  /**
   * The newest published entry, waiting while there is none; below `next`
   * means stop. No deadline: a service's idle, not a wait for a result. It
   * checks STOP every IDLE_SLICE_MS, which stop(), StreamThreads.terminate()
   * and a dead device thread (StreamThreads.lost) set.
   */
  private waitForWork(): number {
    const w = this.block.words;
    let head = Atomics.load(w, S.HEAD);
    if (head >= this.next) return head;
    const until = performance.now() + SPIN_MS;
    while (performance.now() < until) {
      head = Atomics.load(w, S.HEAD);
      if (head >= this.next) return head;
    }
    // Nothing queued: the stream stops driving its sockets until the next call.
    this.comm.quiesce();
    for (;;) {
      Atomics.store(w, S.STREAM_SLEEPING, 1);
      head = Atomics.load(w, S.HEAD);
      if (head < this.next) {
        if (Atomics.load(w, S.STOP) !== 0) {
          Atomics.store(w, S.STREAM_SLEEPING, 0);
          return head;
        }
        Atomics.wait(w, S.HEAD, head, IDLE_SLICE_MS);
        head = Atomics.load(w, S.HEAD);
      }
      Atomics.store(w, S.STREAM_SLEEPING, 0);
      if (head >= this.next) return head;
    }
  }

  private execute(seq: number): void {
    const b = this.block;
    const e = b.entries;
    const at = b.entryAt(seq);
    let failure: unknown;
    try {
      this.dispatch(e, at);
    } catch (err) {
      failure = err;
    }
    if (failure === undefined) {
      b.setStatus(seq, State.OK);
    } else {
      const err = failure as TransportError;
      const code = err.code ?? 'EIO';
      b.setStatus(seq, State.FAILED, code, String(err.message ?? err).replace(/^[A-Z]+: /, ''));
      const unusable = this.comm.asyncError();
      if (unusable) b.setAsyncError((unusable as TransportError).code ?? 'EIO', unusable.message.replace(/^[A-Z]+: /, ''));
    }
    Atomics.store(b.words, S.DONE, seq);
    if (Atomics.load(b.words, S.WAITERS) > 0) Atomics.notify(b.words, S.DONE);
  }

  private dispatch(e: Float64Array, at: number): void {
    const op = e[at + E.OP]!;
    const dtype = DTYPES[e[at + E.DTYPE]!] as Dtype | undefined;
    if (op === Op.SWEEP) {
      this.comm.sweep();
      return;
    }
    if (op === Op.BARRIER) {
      this.comm.barrier(timeoutOf(e, at));
      return;
    }
    if (op === Op.GROUP_SEND || op === Op.GROUP_RECV) {
      try {
        const side = { data: this.view(dtype!, e[at + E.SEND_OFF]!, e[at + E.SEND_LEN]!), peer: e[at + E.PEER]! };
        (op === Op.GROUP_SEND ? this.sends : this.recvs).push(side);
      } catch (err) {
        this.groupError ??= err;
        throw err;
      }
      return;
    }
    if (op === Op.GROUP_END) {
      const sends = this.sends;
      const recvs = this.recvs;
      const broken = this.groupError;
      this.sends = [];
      this.recvs = [];
      this.groupError = undefined;
      if (broken !== undefined) throw broken;
      const opts = { ...timeoutOf(e, at), ...(dtype !== undefined && { dtype }) };
      this.comm.groupStart();
      try {
        for (const x of sends) this.comm.send(x.data, x.peer, opts);
        for (const x of recvs) this.comm.recv(x.data, x.peer, opts);
      } finally {
        this.comm.groupEnd();
      }
      return;
    }
    const send = this.view(dtype!, e[at + E.SEND_OFF]!, e[at + E.SEND_LEN]!);
    const recv = this.view(dtype!, e[at + E.RECV_OFF]!, e[at + E.RECV_LEN]!);
    const opts: CollectiveOptions = { dtype, ...timeoutOf(e, at) };
    const redop = e[at + E.REDOP]!;
    if (redop >= 0) opts.op = OPS[redop];
    if (!Number.isNaN(e[at + E.ROOT]!)) opts.root = e[at + E.ROOT]!;
    const algo = e[at + E.ALGO]!;
    if (algo >= 0) opts.algo = ALGORITHMS[algo];
    const proto = e[at + E.PROTO]!;
    if (proto >= 0) opts.proto = PROTOCOLS[proto];
    switch (op) {
      case Op.ALL_REDUCE:
        return this.comm.allReduce(send, recv, opts);
      case Op.ALL_GATHER:
        return this.comm.allGather(send, recv, opts);
      case Op.REDUCE_SCATTER:
        return this.comm.reduceScatter(send, recv, opts);
      case Op.BROADCAST:
        return this.comm.broadcast(send, recv, opts);
      case Op.REDUCE:
        return this.comm.reduce(send, recv, opts);
      case Op.ALL_TO_ALL:
        return this.comm.allToAll(send, recv, opts);
      default:
        throw new TransportError('EINVAL', `stream entry has an unknown operation ${op}`);
    }
  }

  /**
   * A view of the caller's memory. The range is the device thread's word;
   * the communicator's registration then proves it lies inside one live
   * buffer of this device, so a wrong offset fails and reaches nothing else.
   */
  private view(dtype: Dtype, off: number, len: number): DeviceArray {
    const keys = this.viewKeys;
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i]!;
      if (k[0] === off && k[1] === len && k[2] === dtype) return this.views[i]!;
    }
    const v = viewOf(this.pool, dtype, off, len);
    this.views[this.viewNext] = v;
    this.viewKeys[this.viewNext] = [off, len, dtype];
    this.viewNext = (this.viewNext + 1) % 8;
    return v;
  }
}

function timeoutOf(e: Float64Array, at: number): { timeoutMs?: number } {
  const t = e[at + E.TIMEOUT]!;
  return Number.isNaN(t) ? {} : { timeoutMs: t };
}
