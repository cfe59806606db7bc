import { CollectiveError } from '../comm_errors.js';
import { D, keyOf } from '../comm_base/descriptor.js';
import type { WaitContext } from '../comm_base/wait_context.js';
import { FIFO_SLOTS, P2P_STATUS_WORD, type PrivateLayout, type ScratchLayout, SMALL_DATA } from '../scratch_layout.js';
import { Buf, type Connector, Line, type LocalRegion } from './connector.js';
import { encodeSignal, type NetPort } from './net_port.js';

const DESC_BYTES = D.WORDS * 4;

/** What every net connector of a rank shares. */
export interface NetGroup {
  readonly rank: number;
  readonly port: NetPort;
  readonly layout: ScratchLayout;
  readonly priv: PrivateLayout;
  /** pool offsets of this rank's scratch and private scratch */
  readonly scratchBase: number;
  readonly privateBase: number;
  /** Int32 view of the whole pool, to read descriptors peers wrote into this rank's scratch */
  readonly poolWords: Int32Array;
}

/**
 * A peer reached through the fabric (NCCL's net transport): data goes by
 * RMA write into the peer's FIFO and small slots, descriptors and signals
 * by writes carrying remote CQ data, user buffers by RMA read and write
 * against the MR keys the peer announces for each call.
 */
export class NetConnector implements Connector {
  readonly type = 'net';
  private readonly sent = new Int32Array(4);
  private readonly recvd = new Int32Array(4);
  /** the peer's registered buffers in the current call: key and offset in the region */
  private readonly keys = [0, 0];
  private readonly offs = [0, 0];
  private readonly sizes = [0, 0];
  private poolBytes: Uint8Array | undefined;

  constructor(
    readonly peer: number,
    private readonly g: NetGroup,
    /** the key of the peer's scratch region */
    private readonly peerKey: number,
  ) {}

  private local(): LocalRegion {
    return { base: this.g.privateBase, mr: this.g.port.privateMr };
  }

  sendDesc(seq: number, ctx: WaitContext): void {
    this.g.port.post('write', this.peer, this.g.port.privateMr, this.g.priv.descOutFor(seq), DESC_BYTES, this.peerKey, this.g.layout.descSlot(this.g.rank, seq & 1), ctx, encodeSignal(Line.SEQ, seq));
  }

  recvDesc(seq: number, ctx: WaitContext): [Int32Array, number] {
    this.g.port.waitLine(this.peer, Line.SEQ, seq, ctx, 'did not arrive');
    return [this.g.poolWords, (this.g.scratchBase + this.g.layout.descSlot(this.peer, seq & 1)) >> 2];
  }

  signal(line: Line, value: number, ctx: WaitContext): void {
    this.g.port.post('write', this.peer, this.g.port.privateMr, 0, 0, this.peerKey, 0, ctx, encodeSignal(line, value));
  }

  waitLine(line: Line, value: number, ctx: WaitContext, what: string): void {
    this.g.port.waitLine(this.peer, line, value, ctx, what);
  }

  outSlot(ch: number, ctx: WaitContext): number {
    const n = this.sent[ch]!;
    // The peer released slot n - FIFO_SLOTS, so the staging copy sent into it has left too.
    if (n >= FIFO_SLOTS) this.g.port.waitLine(this.peer, Line.HEAD + ch, n - FIFO_SLOTS + 1, ctx, 'did not free a slot of its FIFO');
    return this.g.privateBase + this.g.priv.fifoSlot(ch, n % FIFO_SLOTS);
  }

  deliver(ch: number, bytes: number, ctx: WaitContext): void {
    const slot = this.sent[ch]! % FIFO_SLOTS;
    const n = ++this.sent[ch]!;
    this.g.port.post('write', this.peer, this.g.port.privateMr, this.g.priv.fifoSlot(ch, slot), bytes, this.peerKey, this.g.layout.fifoSlot(ch, slot), ctx, encodeSignal(Line.TAIL + ch, n));
  }

  inSlot(ch: number, ctx: WaitContext): number {
    const n = this.recvd[ch]!;
    this.g.port.waitLine(this.peer, Line.TAIL + ch, n + 1, ctx, 'did not deliver its next piece');
    return this.g.scratchBase + this.g.layout.fifoSlot(ch, n % FIFO_SLOTS);
  }

  release(ch: number, ctx: WaitContext): void {
    this.signal(Line.HEAD + ch, ++this.recvd[ch]!, ctx);
  }

  staged(parity: number): number {
    return this.g.scratchBase + this.g.layout.smallSlot(this.peer, parity) + SMALL_DATA;
  }

  pushStaged(parity: number, src: LocalRegion, srcOff: number, bytes: number, ctx: WaitContext): void {
    if (bytes === 0) return;
    const g = this.g;
    const at = g.priv.stageSlot(parity);
    // From a private copy, not the user's buffer: the call can end (and an
    // in-place call overwrite its input) before the write has left.
    const pool = (this.poolBytes ??= new Uint8Array(g.poolWords.buffer));
    pool.copyWithin(g.privateBase + at, src.base + srcOff, src.base + srcOff + bytes);
    g.port.post('write', this.peer, g.port.privateMr, at, bytes, this.peerKey, g.layout.smallSlot(g.rank, parity) + SMALL_DATA, ctx);
  }

  llPush(parity: number, flag: number, seq: number, src: LocalRegion, srcOff: number, bytes: number, ctx: WaitContext): void {
    const g = this.g;
    const at = g.priv.stageSlot(parity);
    // Flag and data leave in one write, from a private copy: the call ends
    // (and may overwrite its input) before the write has left. The copy is
    // rewritten two calls later, once every peer has posted the call
    // between, which it does only after taking this one.
    const pool = (this.poolBytes ??= new Uint8Array(g.poolWords.buffer));
    g.poolWords[(g.privateBase + at) >> 2] = flag;
    if (bytes > 0) pool.copyWithin(g.privateBase + at + SMALL_DATA, src.base + srcOff, src.base + srcOff + bytes);
    g.port.post('write', this.peer, g.port.privateMr, at, SMALL_DATA + bytes, this.peerKey, g.layout.smallSlot(g.rank, parity), ctx, encodeSignal(Line.LL, seq));
  }

  llAwait(parity: number, flag: number, seq: number, ctx: WaitContext): number {
    const g = this.g;
    g.port.waitLine(this.peer, Line.LL, seq, ctx, 'did not arrive');
    const slot = g.scratchBase + g.layout.smallSlot(this.peer, parity);
    const seen = g.poolWords[slot >> 2]!;
    if (seen !== flag) throw new CollectiveError('EINVAL', `${this.g.port.peerName(this.peer)} made a different call (fingerprint ${seen & 0xffff} against ${flag & 0xffff}); every rank must make the same call`);
    return slot + SMALL_DATA;
  }

  bindCall(words: Int32Array, at: number): void {
    this.keys[Buf.SEND] = keyOf(words, at, D.SEND_KEY_LO);
    this.offs[Buf.SEND] = words[at + D.SEND_OFF]!;
    this.sizes[Buf.SEND] = words[at + D.SEND_SIZE]!;
    this.keys[Buf.RECV] = keyOf(words, at, D.RECV_KEY_LO);
    this.offs[Buf.RECV] = words[at + D.RECV_OFF]!;
    this.sizes[Buf.RECV] = words[at + D.RECV_SIZE]!;
  }

  private remote(buf: Buf, off: number): number {
    if (this.sizes[buf] === 0) throw new CollectiveError('EINVAL', `${this.g.port.peerName(this.peer)} has no ${buf === Buf.SEND ? 'send' : 'recv'} buffer in this call`);
    return this.offs[buf]! + off;
  }

  source(buf: Buf, off: number, bytes: number, ctx: WaitContext): number {
    if (bytes === 0) return 0;
    const at = this.g.priv.getSlot(this.peer);
    this.getInto(buf, off, this.local(), at, bytes, ctx);
    return this.g.privateBase + at;
  }

  getInto(buf: Buf, off: number, dst: LocalRegion, dstOff: number, bytes: number, ctx: WaitContext): void {
    if (bytes === 0) return;
    this.g.port.post('read', this.peer, dst.mr!, dstOff, bytes, this.keys[buf]!, this.remote(buf, off), ctx);
    // The bytes are used as soon as this returns.
    this.g.port.flush(ctx, this.peer);
  }

  putFrom(buf: Buf, off: number, src: LocalRegion, srcOff: number, bytes: number, ctx: WaitContext): void {
    if (bytes === 0) return;
    this.g.port.post('write', this.peer, src.mr!, srcOff, bytes, this.keys[buf]!, this.remote(buf, off), ctx);
  }

  p2pPost(seq: number, desc: Int32Array, ctx: WaitContext): void {
    const g = this.g;
    g.poolWords.set(desc, (g.privateBase + g.priv.p2pOut) >> 2);
    g.port.post('write', this.peer, g.port.privateMr, g.priv.p2pOut, DESC_BYTES, this.peerKey, g.layout.p2pSlot(g.rank), ctx, encodeSignal(Line.P2P_POST, seq), true);
    // The staging is reused by the next send: its bytes must have left.
    g.port.flush(ctx, this.peer);
  }

  p2pAwait(seq: number, ctx: WaitContext): [Int32Array, number] {
    this.g.port.waitLine(this.peer, Line.P2P_POST, seq, ctx, 'did not send');
    return [this.g.poolWords, (this.g.scratchBase + this.g.layout.p2pSlot(this.peer)) >> 2];
  }

  p2pDone(seq: number, status: number, ctx: WaitContext): void {
    const g = this.g;
    g.poolWords[(g.privateBase + g.priv.statusOut) >> 2] = status;
    g.port.post('write', this.peer, g.port.privateMr, g.priv.statusOut, 4, this.peerKey, g.layout.p2pSlot(g.rank) + P2P_STATUS_WORD * 4, ctx, encodeSignal(Line.P2P_DONE, seq), true);
    g.port.flush(ctx, this.peer);
  }

  p2pAwaitDone(seq: number, ctx: WaitContext): number {
    this.g.port.waitLine(this.peer, Line.P2P_DONE, seq, ctx, 'did not receive');
    return this.g.poolWords[((this.g.scratchBase + this.g.layout.p2pSlot(this.peer)) >> 2) + P2P_STATUS_WORD]!;
  }

  abort(): void {
    this.g.port.tryPost(this.peer, this.peerKey, encodeSignal(Line.ABORT, 1));
  }

  close(): void {}
}
