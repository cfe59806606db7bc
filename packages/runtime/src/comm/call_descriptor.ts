import type { Algorithm } from '../algorithm.js';
import { CollectiveError } from '../comm_errors.js';
import { KIND } from '../collective_kind.js';
import { DTYPE_CODE } from '../dtypes.js';
import { OP_CODE } from '../ops.js';
import type { Registration } from '../registration/registrations.js';
import { R, rankBase } from '../comm_base/comm_block.js';
import { D, describeMismatch, fingerprint, firstMismatch, putKey } from '../comm_base/descriptor.js';
import { SMALL_BYTES } from '../scratch_layout.js';
import type { CallRequest } from './call_request.js';
import type { CommState } from './comm_state.js';
import type { UserCalls } from './user_calls.js';

/**
 * This rank's descriptor of its current call, and the call's announcement
 * to peers and matching with theirs (as NCCL's enqueue checks a call's
 * arguments): every rank must make the same call on buffers every peer
 * can reach, or the call fails on all of them naming the first difference.
 */
export class CallDescriptor {
  private readonly mine = new Int32Array(D.WORDS);
  private readonly seqAt: number;
  private readonly descAt: number;
  /** word index of this rank's small slot (parity 0) flag in pool memory, or -1 without shm peers */
  private readonly llFlagAt: number;
  private readonly poolWords: Int32Array;
  /** Which descriptor (by descGen) each parity slot of the shared block holds. */
  private readonly written = [-1, -1];
  private descGen = 0;

  /** What the last descriptor described; fp < 0 until there was one. */
  private readonly last = {
    alg: undefined as Algorithm | undefined,
    kind: '' as string,
    count: -1,
    dtype: '' as string,
    op: '' as string,
    root: -1,
    sendReg: undefined as Registration | undefined,
    recvReg: undefined as Registration | undefined,
    sendOff: -1,
    recvOff: -1,
    fp: -1,
  };

  constructor(
    private readonly s: CommState,
    /** names the call in a mismatch's error */
    private readonly calls: UserCalls,
  ) {
    this.seqAt = rankBase(s.rank) + R.SEQ;
    this.descAt = rankBase(s.rank) + R.DESC;
    this.poolWords = new Int32Array(s.pool.memory.buffer);
    this.llFlagAt = s.connectors.some((c) => c?.type === 'shm') ? (s.scratchBuf.offset + s.layout.smallSlot(s.rank, 0)) >> 2 : -1;
  }

  /** the fingerprint of the last call described */
  get fingerprint(): number {
    return this.last.fp;
  }

  /**
   * Fills this rank's descriptor of call `seq` and writes it where shm peers
   * read it. A call like the last one (a training loop) only changes the
   * sequence number, and its fingerprint is reused.
   */
  describe(seq: number, req: CallRequest, sendReg: Registration | undefined, recvReg: Registration | undefined): Int32Array {
    const d = this.mine;
    const m = this.last;
    if (m.alg === req.alg && m.kind === req.kind && m.count === req.count && m.dtype === req.dtype && m.op === req.op && m.root === req.root &&
        m.sendReg === sendReg && m.recvReg === recvReg && m.sendOff === req.sendOff && m.recvOff === req.recvOff && m.fp >= 0) {
      d[D.SEQ] = seq;
      // Peers compare only the call's fields, never D.SEQ: a slot that
      // already holds this call needs no rewrite.
      if (this.written[seq & 1] !== this.descGen) {
        this.s.words.set(d, this.descAt + (seq & 1) * D.WORDS);
        this.written[seq & 1] = this.descGen;
      }
      return d;
    }
    m.alg = req.alg;
    m.kind = req.kind;
    m.count = req.count;
    m.dtype = req.dtype;
    m.op = req.op;
    m.root = req.root;
    m.sendReg = sendReg;
    m.recvReg = recvReg;
    m.sendOff = req.sendOff;
    m.recvOff = req.recvOff;
    d[D.KIND] = KIND[req.kind];
    d[D.COUNT] = req.count;
    d[D.DTYPE] = DTYPE_CODE[req.dtype];
    d[D.OP] = OP_CODE[req.op];
    d[D.ROOT] = req.root;
    d[D.ALGO] = req.alg ? req.alg.code : 0;
    d[D.SEQ] = seq;
    describeBuffer(d, D.SEND_EXP, sendReg, req.sendOff);
    describeBuffer(d, D.RECV_EXP, recvReg, req.recvOff);
    m.fp = fingerprint(d, 0);
    this.s.words.set(d, this.descAt + (seq & 1) * D.WORDS);
    this.written[seq & 1] = ++this.descGen;
    return d;
  }

  /**
   * An ll call's sequence word: the ll flag is its announcement; this only
   * lets a peer that took the simple path for the call read our descriptor
   * and name the mismatch. It is stored plainly and published by the
   * flag's atomic store (a sleeping simple peer wakes within its 20 ms
   * slice: that path only ends in an error).
   */
  markLl(seq: number): void {
    this.s.words[this.seqAt] = seq;
  }

  /**
   * Announces call `seq` (simple protocol): the sequence word in the shared
   * block for shm peers, the descriptor by RMA for net peers, and the ll
   * flag `flag` in this rank's small slot, so a peer that took the ll path
   * for what it thinks is the same call sees the fingerprint differ.
   */
  announce(seq: number, flag: number): void {
    const s = this.s;
    if (s.port) new Int32Array(s.pool.memory.buffer, s.privBuf.offset + s.priv.descOutFor(seq), D.WORDS).set(this.mine);
    if (this.llFlagAt >= 0) s.sync.postPoolWord(this.poolWords, this.llFlagAt + ((seq & 1) * SMALL_BYTES >> 2), flag);
    s.sync.post(this.seqAt, seq);
    for (const c of s.connectors) if (c?.type === 'net') c.sendDesc(seq, s.ctx);
  }

  /** Waits for every peer's descriptor of `seq`; a disagreement fails the call. */
  awaitPeers(seq: number): void {
    const s = this.s;
    for (let i = 1; i < s.size; i++) {
      const q = (s.rank + i) % s.size;
      const c = s.connectors[q]!;
      const [w, at] = c.recvDesc(seq, s.ctx);
      const bad = firstMismatch(this.mine, 0, w, at);
      if (bad !== -1) throw new CollectiveError('EINVAL', `${this.calls.callName()}: ${describeMismatch(bad, s.peerName(q), w[at + bad]!, s.peerName(s.rank), this.mine[bad]!)}`);
      c.bindCall(w, at);
    }
  }
}

/** Writes a registration's handle, key and the view's offset into a descriptor. */
function describeBuffer(d: Int32Array, first: D, reg: Registration | undefined, viewOff: number): void {
  if (!reg) {
    d.fill(0, first, first + 6);
    return;
  }
  const h = reg.dmabuf.handle;
  d[first] = h.slot;
  d[first + 1] = h.gen;
  d[first + 2] = h.size;
  d[first + 3] = viewOff - reg.base;
  putKey(d, 0, (first + 4) as D, reg.mr?.key ?? 0);
}
