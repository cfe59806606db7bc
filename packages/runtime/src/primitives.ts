import type { Call } from './call.js';
import type { WaitContext } from './comm_base/wait_context.js';
import { Buf, type Connector, Line, type LocalRegion } from './connectors/connector.js';
import type { ConnectorGroup } from './connectors/connector_group.js';
import { DST_F32, type ReduceKernels, SRC0_F32 } from './kernels/reduce_kernels.js';
import { GET_BYTES, SMALL_MAX } from './scratch_layout.js';
import type { Dtype } from './dtypes.js';

/**
 * A place an algorithm reads or writes, as the primitives hand it out:
 * a slot of a FIFO, a piece of a buffer of this call. Algorithms pass refs
 * back to the primitives and never compute with them; what memory a ref
 * names (a mapping of a peer's buffer, local staging of a fetch) is the
 * connectors' business.
 */
export type Ref = number & { readonly __ref: unique symbol };

/** This rank's buffers in the current call. */
export interface LocalBuffers {
  /** pool offset of the first byte of the send and recv views */
  sendAt: number;
  recvAt: number;
  /** the registrations the views are in, for RMA, and the views' offsets inside them */
  sendRegion: LocalRegion;
  recvRegion: LocalRegion;
}

/**
 * The primitive layer between algorithms and connectors (NCCL's
 * Primitives, Gloo's Pair/Buffer): FIFO send and receive with reduction on
 * the way, direct access to peers' registered buffers, steps and barriers.
 * Every wait watches the deadline and the abort flag. What is done once
 * for all peers of a kind (a staged input, a line, the end of a call) goes
 * to the connector groups; the primitives never learn which transports
 * are under them.
 */
export class Prims {
  readonly rank: number;
  readonly size: number;
  /** bytes of one FIFO slot */
  readonly slotBytes: number;
  /** the largest piece a step may take from one peer's buffer */
  readonly pieceBytes = GET_BYTES;
  private readonly srcArray: Ref[] = [];
  private arrivals = 0;
  private stepBase = 0;
  readonly buffers: LocalBuffers = { sendAt: 0, recvAt: 0, sendRegion: { base: 0, mr: undefined }, recvRegion: { base: 0, mr: undefined } };

  constructor(
    rank: number,
    size: number,
    private readonly peers: readonly (Connector | undefined)[],
    /** one per connector kind this rank uses, each serving all its peers of that kind */
    private readonly groups: readonly ConnectorGroup[],
    readonly kernels: ReduceKernels,
    readonly ctx: WaitContext,
    slotBytes: number,
  ) {
    this.rank = rank;
    this.size = size;
    this.slotBytes = slotBytes;
  }

  private peer(q: number): Connector {
    return this.peers[q]!;
  }

  /** A reusable array for reduction sources. */
  srcs(n: number): Ref[] {
    if (this.srcArray.length !== n) this.srcArray.length = n;
    return this.srcArray;
  }

  // ---- this rank's buffers ----------------------------------------------------------

  /** The registered region behind this rank's buffer `buf` in this call. */
  private regionOf(buf: Buf): LocalRegion {
    return buf === Buf.SEND ? this.buffers.sendRegion : this.buffers.recvRegion;
  }

  local(buf: Buf, at: number): Ref {
    return ((buf === Buf.SEND ? this.buffers.sendAt : this.buffers.recvAt) + at) as Ref;
  }

  // ---- FIFOs: receiver-owned slots, one sender per (receiver, channel) -------------------

  /** Waits for the next slot `from` delivered on channel `ch`. */
  inSlot(from: number, ch: number): Ref {
    return this.peer(from).inSlot(ch, this.ctx) as Ref;
  }

  /** Gives an inbound slot back to its sender. */
  release(from: number, ch: number): void {
    this.peer(from).release(ch, this.ctx);
  }

  /** Waits for room in `to`'s FIFO `ch`; the ref is where to write the next slot. */
  outSlot(to: number, ch: number): Ref {
    return this.peer(to).outSlot(ch, this.ctx) as Ref;
  }

  /** Hands `bytes` written at outSlot(to, ch) to `to`. */
  deliver(to: number, ch: number, bytes: number): void {
    this.peer(to).deliver(ch, bytes, this.ctx);
  }

  // ---- staged small inputs (oneshot) ---------------------------------------------------

  /**
   * Makes bytes [at, at + bytes) of this rank's input readable by every
   * peer in small slot `parity`: one copy into its own slot for shm peers,
   * a write into each net peer's slot. The caller guarantees peers are done
   * with the slot's previous contents.
   */
  stage(parity: number, at: number, bytes: number): void {
    if (bytes === 0) return;
    const b = this.buffers;
    for (const g of this.groups) g.stage(parity, b.sendRegion, b.sendAt + at, bytes, this.ctx);
  }

  /** Where peer q's staged input for `parity` can be read; this rank's own is byte `at` of its send buffer. */
  staged(q: number, parity: number, at: number): Ref {
    return (q === this.rank ? this.buffers.sendAt + at : this.peer(q).staged(parity)) as Ref;
  }

  // ---- peers' registered buffers of this call -----------------------------------------

  /** Bytes [at, at + bytes) of q's buffer, readable here (q may be this rank). At most pieceBytes from a net peer. */
  source(q: number, buf: Buf, at: number, bytes: number): Ref {
    if (q === this.rank) return this.local(buf, at);
    return this.peer(q).source(buf, at, bytes, this.ctx) as Ref;
  }

  /** Copies bytes of q's buffer into this rank's buffer `dst`. */
  getInto(dst: Buf, dstAt: number, q: number, buf: Buf, at: number, bytes: number): void {
    if (q === this.rank) {
      this.kernels.copy(this.local(dst, dstAt), this.local(buf, at), bytes);
      return;
    }
    const region = this.regionOf(dst);
    this.peer(q).getInto(buf, at, region, this.local(dst, dstAt) - region.base, bytes, this.ctx);
  }

  /** Copies bytes of this rank's buffer `src` into q's buffer `buf`. */
  putFrom(q: number, buf: Buf, at: number, src: Buf, srcAt: number, bytes: number): void {
    if (q === this.rank) {
      this.kernels.copy(this.local(buf, at), this.local(src, srcAt), bytes);
      return;
    }
    const region = this.regionOf(src);
    this.peer(q).putFrom(buf, at, region, this.local(src, srcAt) - region.base, bytes, this.ctx);
  }

  // ---- compute ----------------------------------------------------------------------

  /** dst = srcs[0] op srcs[1] op …, elementwise over `count` elements of the call's dtype (or `dtype`). */
  reduce(call: Call, dst: Ref, srcs: readonly Ref[], count: number, flags = 0, divisor = 1, dtype: Dtype = call.dtype): void {
    this.kernels.reduce(call.op, dtype, dst, srcs as readonly number[], count, divisor, flags);
  }

  copy(dst: Ref, src: Ref, bytes: number): void {
    this.kernels.copy(dst, src, bytes);
  }

  // ---- synchronisation ------------------------------------------------------------------

  checkAbort(): void {
    this.ctx.checkAbort();
  }

  /**
   * Waits until no transfer reads or writes a user buffer any more (net):
   * the end of a call, after which the caller may reuse its buffers.
   * Transfers from private scratch are guarded by their own protocols.
   */
  flushUser(): void {
    for (const g of this.groups) g.flushUser(this.ctx);
  }

  /** The end of an ll call: its messages are in the kernel before it returns (acknowledgements ride on the next call's). */
  leaveLl(): void {
    for (const g of this.groups) g.leaveLl(this.ctx);
  }

  /** The most a small slot carries, for algorithms that stage or use ll. */
  get smallBytes(): number {
    return SMALL_MAX;
  }

  // ---- ll: small inputs with their flag, no separate handshake --------------------------

  /**
   * ll: puts bytes [at, at + bytes) of buffer `src` and then its flag in
   * this rank's small slot `parity` for shm peers, and sends both in one
   * write to each net peer.
   */
  llPost(call: Call, parity: number, src: Buf, at: number, bytes: number): void {
    const region = this.regionOf(src);
    const from = this.local(src, at);
    for (const g of this.groups) g.llPost(parity, call.flag, call.seq, region, from, bytes, this.ctx);
  }

  /** ll: waits for peer q's slot `parity` to carry this call's flag; byte `at` of the data there. */
  llAwait(call: Call, q: number, parity: number, at = 0): Ref {
    return (this.peer(q).llAwait(parity, call.flag, call.seq, this.ctx) + at) as Ref;
  }

  /**
   * ll: every rank posts its flag (with `bytes` of `src` from `at`) and
   * waits for every peer's. A rank overwrites a slot two calls later, and
   * by then every peer has posted the next call's flag, which it does only
   * after finishing with this one: the wait is what makes reuse safe.
   */
  llExchange(call: Call, src: Buf, at: number, bytes: number): number {
    const parity = call.seq & 1;
    this.llPost(call, parity, src, at, bytes);
    return parity;
  }

  /**
   * Every rank arrives before any leaves; this rank's transfers have landed
   * first: over shm they are stores made before the arrival, over net the
   * arrival is a message of the same process pair, and those are applied
   * in posting order, so the data before it has landed when it is seen.
   */
  barrier(): void {
    const a = ++this.arrivals;
    if (this.groups.length === 1 && this.groups[0]!.barrierAlone(a, this.ctx)) return;
    for (const g of this.groups) g.post(Line.ARRIVE, a, this.ctx);
    for (const c of this.peers) c?.waitLine(Line.ARRIVE, a, this.ctx, 'did not reach the barrier');
  }

  // Steps start at 0, so step k of a call is posted as base + k + 1: a wait
  // for step 0 must not be satisfied by the initial zero.
  postStep(k: number): void {
    const v = (this.stepBase + k + 1) | 0;
    for (const g of this.groups) g.post(Line.STEP, v, this.ctx);
  }

  waitStep(q: number, k: number): void {
    this.peer(q).waitLine(Line.STEP, (this.stepBase + k + 1) | 0, this.ctx, 'did not reach its next step');
  }

  /** Advances the step base by `total` steps; identical on every rank. */
  finishSteps(total: number): void {
    this.stepBase = (this.stepBase + total) | 0;
  }

  // ---- NCCL's compound primitives over one FIFO channel ----------------------------------

  /** Bytes of `count` elements in a FIFO: float32 partials for 16-bit floats when `wide`. */
  fifoBytes(call: Call, count: number, wide: boolean): number {
    return count * (wide ? 4 : call.elemBytes);
  }

  /** send: this rank's input (widened to float32 partials when `wide`) into `to`'s FIFO. */
  send(call: Call, to: number, ch: number, src: Buf, at: number, count: number, wide = false): void {
    const o = this.outSlot(to, ch);
    if (wide) this.reduce(call, o, this.one(this.local(src, at)), count, DST_F32);
    else this.copy(o, this.local(src, at), count * call.elemBytes);
    this.deliver(to, ch, this.fifoBytes(call, count, wide));
  }

  /** recv: the next slot from `from` into this rank's buffer. */
  recv(call: Call, from: number, ch: number, dst: Buf, at: number, count: number): void {
    const i = this.inSlot(from, ch);
    this.copy(this.local(dst, at), i, count * call.elemBytes);
    this.release(from, ch);
  }

  /** recvReduceSend: (inbound partial op this rank's input) into `to`'s FIFO. */
  recvReduceSend(call: Call, from: number, to: number, ch: number, src: Buf, at: number, count: number, wide = false): void {
    const i = this.inSlot(from, ch);
    const o = this.outSlot(to, ch);
    this.reduce(call, o, this.two(i, this.local(src, at)), count, wide ? SRC0_F32 | DST_F32 : 0);
    this.release(from, ch);
    this.deliver(to, ch, this.fifoBytes(call, count, wide));
  }

  /** recvReduceCopy: (inbound partial op this rank's input) into this rank's buffer, the final result. */
  recvReduceCopy(call: Call, from: number, ch: number, src: Buf, srcAt: number, dst: Buf, dstAt: number, count: number, wide = false): void {
    const i = this.inSlot(from, ch);
    this.reduce(call, this.local(dst, dstAt), this.two(i, this.local(src, srcAt)), count, wide ? SRC0_F32 : 0, call.divisor);
    this.release(from, ch);
  }

  /** recvReduceCopySend: the final result into this rank's buffer and on into `to`'s FIFO. */
  recvReduceCopySend(call: Call, from: number, to: number, ch: number, src: Buf, srcAt: number, dst: Buf, dstAt: number, count: number, wide = false): void {
    this.recvReduceCopy(call, from, ch, src, srcAt, dst, dstAt, count, wide);
    this.send(call, to, ch, dst, dstAt, count);
  }

  /** recvCopySend: the next slot from `from` into this rank's buffer and on into `to`'s FIFO. */
  recvCopySend(call: Call, from: number, to: number, ch: number, dst: Buf, at: number, count: number): void {
    const i = this.inSlot(from, ch);
    const o = this.outSlot(to, ch);
    const bytes = count * call.elemBytes;
    this.copy(this.local(dst, at), i, bytes);
    this.copy(o, i, bytes);
    this.release(from, ch);
    this.deliver(to, ch, bytes);
  }

  private one(a: Ref): Ref[] {
    const s = this.srcs(1);
    s[0] = a;
    return s;
  }

  private two(a: Ref, b: Ref): Ref[] {
    const s = this.srcs(2);
    s[0] = a;
    s[1] = b;
    return s;
  }
}
