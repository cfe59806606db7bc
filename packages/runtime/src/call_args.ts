import { type Pool, TransportError } from '@collective/transport';
import { type DeviceArray, dtypeOf, poolOffset } from './device_array.js';
import { checkDtype, type Dtype } from './dtypes.js';

/**
 * A communicator's view of its calls' arrays: their dtype and pool offset.
 * byteOffset is a slow getter in this V8 (tens of ns), and instanceof
 * chains cost more than the rest of a small call's bookkeeping, so the last
 * few views are remembered with their dtype and offset (a typed array's are
 * fixed for its life): a training loop passes the same views call after call.
 */
export class CallArgs {
  readonly #pool: Pool;
  /** the memory never grows, so its buffer is fetched once */
  readonly #memory: ArrayBufferLike;
  readonly #views: (DeviceArray | undefined)[] = [undefined, undefined, undefined, undefined];
  readonly #offsets = [0, 0, 0, 0];
  readonly #kinds: Dtype[] = ['uint8', 'uint8', 'uint8', 'uint8'];
  #nextView = 0;
  /** what the last check() found: the views' pool offsets, and whether the call runs in place */
  sendOff = 0;
  recvOff = 0;
  inPlace = false;

  constructor(pool: Pool) {
    this.#pool = pool;
    this.#memory = pool.memory.buffer;
  }

  /** A view's dtype, checked against options.dtype; a view outside the pool is refused (named `what`). */
  dtype(what: string, a: DeviceArray, hint: Dtype | undefined): Dtype {
    let i = this.#views.indexOf(a);
    if (i < 0) {
      const d = dtypeOf(a);
      if (a.buffer !== this.#memory) poolOffset(this.#pool, a, what);
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

  offsetOf(a: DeviceArray): number {
    const i = this.#views.indexOf(a);
    if (i >= 0) return this.#offsets[i]!;
    return a.byteOffset;
  }

  /**
   * A collective's send and recv, checked as NCCL checks them: one dtype,
   * lengths the collective can use, and either separate or in place (see
   * placement). Returns the dtype and leaves the views' offsets and whether
   * the call runs in place in sendOff, recvOff and inPlace (no object per
   * call). `root`: whether this rank is the root (broadcast and reduce).
   */
  check(kind: ArgsKind, send: DeviceArray, recv: DeviceArray, hint: Dtype | undefined, rank: number, size: number, root: boolean): Dtype {
    const dtype = this.pair(send, recv, hint);
    checkLengths(kind, send, recv, size, root);
    // Checked on every rank, though a broadcast reads send only on the root: ranks must refuse the same calls.
    const so = (this.sendOff = this.offsetOf(send));
    const ro = (this.recvOff = this.offsetOf(recv));
    switch (kind) {
      case 'allGather':
        this.inPlace = placement(kind, send, so, recv, ro, rank * send.length);
        break;
      case 'reduceScatter':
        this.inPlace = placement(kind, recv, ro, send, so, rank * recv.length);
        break;
      case 'broadcast':
        this.inPlace = placement(kind, send, so, recv, ro, 0) && root;
        break;
      case 'allToAll':
        if (overlap(so, send.length * send.BYTES_PER_ELEMENT, ro, recv.length * recv.BYTES_PER_ELEMENT) && size > 1) throw new TransportError('EINVAL', 'allToAll cannot run in place; pass a separate recv buffer');
        this.inPlace = false;
        break;
      default:
        this.inPlace = placement(kind, send, so, recv, ro, 0);
    }
    return dtype;
  }

  /** The dtype of a call's send and recv, which must agree. */
  pair(send: DeviceArray, recv: DeviceArray, hint: Dtype | undefined): Dtype {
    const sd = this.dtype('send', send, hint);
    const rd = this.dtype('recv', recv, hint);
    if (sd !== rd) throw new TransportError('EINVAL', `send is ${sd} but recv is ${rd}; they must have the same dtype`);
    return sd;
  }
}

/** The collectives whose send and recv check() takes. */
export type ArgsKind = 'allReduce' | 'allGather' | 'reduceScatter' | 'broadcast' | 'reduce' | 'allToAll';

/** Refuses send and recv lengths the collective cannot use, saying what they must be. */
function checkLengths(kind: ArgsKind, send: DeviceArray, recv: DeviceArray, size: number, root: boolean): void {
  switch (kind) {
    case 'allReduce':
    case 'reduce':
      if (recv.length !== send.length) throw new TransportError('EINVAL', `${kind}: recv has ${recv.length} elements, send has ${send.length}; they must match`);
      return;
    case 'allGather':
      if (recv.length !== send.length * size) throw new TransportError('EINVAL', `allGather: recv must hold size × send.length = ${send.length * size} elements (got ${recv.length})`);
      return;
    case 'reduceScatter':
      if (send.length !== recv.length * size) {
        throw new TransportError('EINVAL', `reduceScatter: send must hold size × recv.length = ${recv.length * size} elements (got ${send.length}); pad it to a multiple of ${size}`);
      }
      return;
    case 'broadcast':
      if (root && send.length < recv.length) throw new TransportError('EINVAL', `broadcast: the root's send has ${send.length} elements, fewer than recv's ${recv.length}`);
      return;
    case 'allToAll':
      if (send.length !== recv.length || send.length % size !== 0) {
        throw new TransportError('EINVAL', `allToAll: send and recv must have the same length, a multiple of size ${size} (got ${send.length} and ${recv.length})`);
      }
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

/** Whether two byte ranges share a byte. */
function overlap(ao: number, ab: number, bo: number, bb: number): boolean {
  return ab > 0 && bb > 0 && ao < bo + bb && bo < ao + ab;
}
