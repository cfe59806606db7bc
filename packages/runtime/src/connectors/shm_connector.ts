import { CollectiveError } from '../comm_errors.js';
import { P, p2pBase, R, rankBase } from '../comm_base/comm_block.js';
import { D, describeMismatch, firstMismatch } from '../comm_base/descriptor.js';
import type { RankSync } from '../comm_base/rank_sync.js';
import type { ReduceKernels } from '../kernels/reduce_kernels.js';
import type { WaitContext } from '../comm_base/wait_context.js';
import type { PeerImports } from '../registration/peer_imports.js';
import { FIFO_SLOTS, type ScratchLayout, SMALL_DATA } from '../scratch_layout.js';
import { Buf, type Connector, Line, type LocalRegion } from './connector.js';

/** What every shm connector of a rank shares. */
export interface ShmGroup {
  readonly rank: number;
  readonly size: number;
  readonly words: Int32Array;
  readonly sync: RankSync;
  readonly kernels: ReduceKernels;
  readonly layout: ScratchLayout;
  /** pool offset of this rank's own scratch */
  readonly scratchBase: number;
  readonly imports: PeerImports;
  /** Int32 view of the whole pool: ll flag words live in scratch */
  readonly poolWords: Int32Array;
  /** how errors name a rank (CommState.peerName) */
  readonly peerName: (rank: number) => string;
}

const LINE_WORD: Partial<Record<Line, R>> = { [Line.SEQ]: R.SEQ, [Line.ARRIVE]: R.ARRIVE, [Line.STEP]: R.STEP };

/**
 * A peer in the same pool: every byte moves by loads and stores through
 * mappings the peer's exporter issued (its scratch, imported at setup; its
 * user buffers, imported on first use), and every signal is a word of the
 * shared block.
 */
export class ShmConnector implements Connector {
  readonly type = 'shm';
  private readonly sent = new Int32Array(4);
  private readonly recvd = new Int32Array(4);
  private readonly peerRec: number;
  private readonly myRec: number;
  /** the peer's registered buffers in the current call: export slot, gen, size, offset */
  private readonly bound = new Int32Array(8);
  private readonly resolved = [-1, -1];

  constructor(
    readonly peer: number,
    private readonly g: ShmGroup,
    /** pool offset of the peer's scratch, through this rank's mapping of its export */
    private readonly peerScratch: number,
  ) {
    this.peerRec = rankBase(peer);
    this.myRec = rankBase(g.rank);
  }

  sendDesc(): void {}

  recvDesc(seq: number, ctx: WaitContext): [Int32Array, number] {
    this.g.sync.waitFor(this.peerRec + R.SEQ, seq, ctx, this.peer, 'did not arrive');
    return [this.g.words, this.peerRec + R.DESC + (seq & 1) * D.WORDS];
  }

  signal(): void {}

  waitLine(line: Line, value: number, ctx: WaitContext, what: string): void {
    this.g.sync.waitFor(this.peerRec + LINE_WORD[line]!, value, ctx, this.peer, what);
  }

  outSlot(ch: number, ctx: WaitContext): number {
    const n = this.sent[ch]!;
    if (n >= FIFO_SLOTS) this.g.sync.waitFor(this.peerRec + R.HEAD + ch, n - FIFO_SLOTS + 1, ctx, this.peer, 'did not free a slot of its FIFO');
    return this.peerScratch + this.g.layout.fifoSlot(ch, n % FIFO_SLOTS);
  }

  deliver(ch: number): void {
    this.g.sync.post(this.peerRec + R.TAIL + ch, ++this.sent[ch]!);
  }

  inSlot(ch: number, ctx: WaitContext): number {
    const n = this.recvd[ch]!;
    this.g.sync.waitFor(this.myRec + R.TAIL + ch, n + 1, ctx, this.peer, 'did not deliver its next piece');
    return this.g.scratchBase + this.g.layout.fifoSlot(ch, n % FIFO_SLOTS);
  }

  release(ch: number): void {
    this.g.sync.post(this.myRec + R.HEAD + ch, ++this.recvd[ch]!);
  }

  staged(parity: number): number {
    return this.peerScratch + this.g.layout.smallSlot(this.peer, parity) + SMALL_DATA;
  }

  /**
   * ll: waits until the peer's small slot `parity` carries the flag of
   * this call's sequence number, and returns the pool offset of its data.
   * A flag with the right sequence but another fingerprint means the peer
   * made a different call: the error names the first field that differs.
   */
  llAwait(parity: number, flag: number, seq: number, ctx: WaitContext): number {
    const slot = this.peerScratch + this.g.layout.smallSlot(this.peer, parity);
    const seen = this.g.sync.waitPoolWord(this.g.poolWords, slot >> 2, flag >>> 16, ctx, this.peer, 'did not arrive');
    if (seen !== flag) {
      const w = this.g.words;
      const theirs = this.peerRec + R.DESC + (seq & 1) * D.WORDS;
      const mine = this.myRec + R.DESC + (seq & 1) * D.WORDS;
      const f = firstMismatch(w, mine, w, theirs);
      const g = this.g;
      throw new CollectiveError('EINVAL', f === -1 ? `${g.peerName(this.peer)} made a different call (fingerprint ${seen & 0xffff} against ${flag & 0xffff}); every rank must make the same call` : describeMismatch(f, g.peerName(this.peer), w[theirs + f]!, g.peerName(g.rank), w[mine + f]!));
    }
    return slot + SMALL_DATA;
  }

  pushStaged(): void {}

  llPush(): void {}

  bindCall(words: Int32Array, at: number): void {
    const b = this.bound;
    b[0] = words[at + D.SEND_EXP]!;
    b[1] = words[at + D.SEND_GEN]!;
    b[2] = words[at + D.SEND_SIZE]!;
    b[3] = words[at + D.SEND_OFF]!;
    b[4] = words[at + D.RECV_EXP]!;
    b[5] = words[at + D.RECV_GEN]!;
    b[6] = words[at + D.RECV_SIZE]!;
    b[7] = words[at + D.RECV_OFF]!;
    this.resolved[0] = -1;
    this.resolved[1] = -1;
  }

  /** Pool offset of byte `off` of the peer's buffer, checked against its registration once per call. */
  private at(buf: Buf, off: number, bytes: number): number {
    if (bytes === 0) return 0;
    const b = this.bound;
    const i = buf * 4;
    let base = this.resolved[buf]!;
    if (base < 0) {
      if (b[i + 2]! === 0) throw new CollectiveError('EINVAL', `${this.g.peerName(this.peer)} has no ${buf === Buf.SEND ? 'send' : 'recv'} buffer in this call`);
      base = this.g.imports.resolve(this.peer, b[i]!, b[i + 1]!, b[i + 2]!, buf === Buf.SEND ? 'send' : 'recv') + b[i + 3]!;
      this.resolved[buf] = base;
    }
    if (off < 0 || b[i + 3]! + off + bytes > b[i + 2]!) {
      throw new CollectiveError('EACCES', `access to bytes [${off}, ${off + bytes}) of ${this.g.peerName(this.peer)}'s buffer is outside its registration`);
    }
    return base + off;
  }

  source(buf: Buf, off: number, bytes: number): number {
    return this.at(buf, off, bytes);
  }

  getInto(buf: Buf, off: number, dst: LocalRegion, dstOff: number, bytes: number): void {
    this.g.kernels.copy(dst.base + dstOff, this.at(buf, off, bytes), bytes);
  }

  putFrom(buf: Buf, off: number, src: LocalRegion, srcOff: number, bytes: number): void {
    this.g.kernels.copy(this.at(buf, off, bytes), src.base + srcOff, bytes);
  }

  p2pPost(seq: number, desc: Int32Array): void {
    const cell = p2pBase(this.g.size, this.g.rank, this.peer);
    this.g.words.set(desc, cell + P.DESC);
    this.g.sync.post(cell + P.POSTED, seq);
  }

  p2pAwait(seq: number, ctx: WaitContext): [Int32Array, number] {
    const cell = p2pBase(this.g.size, this.peer, this.g.rank);
    this.g.sync.waitFor(cell + P.POSTED, seq, ctx, this.peer, 'did not send');
    return [this.g.words, cell + P.DESC];
  }

  p2pDone(seq: number, status: number): void {
    const cell = p2pBase(this.g.size, this.peer, this.g.rank);
    this.g.words[cell + P.STATUS] = status;
    this.g.sync.post(cell + P.DONE, seq);
  }

  p2pAwaitDone(seq: number, ctx: WaitContext): number {
    const cell = p2pBase(this.g.size, this.g.rank, this.peer);
    this.g.sync.waitFor(cell + P.DONE, seq, ctx, this.peer, 'did not receive');
    return this.g.words[cell + P.STATUS]!;
  }

  abort(): void {}

  close(): void {}
}
