import { type ErrorCode, TransportError } from '@collective/transport';
import { type Algorithm, algoOfCode } from '../algorithm.js';
import type { Call } from '../call.js';
import { CollectiveError } from '../comm_errors.js';
import type { CollectiveKind } from '../collective_kind.js';
import { KIND } from '../collective_kind.js';
import type { DeviceArray } from '../device_array.js';
import { DTYPE_BYTES, DTYPE_CODE, type Dtype } from '../dtypes.js';
import { OP_CODE, type ReduceOp } from '../ops.js';
import { CallWindows } from '../registration/call_windows.js';
import { type Registration, RegistrationGone } from '../registration/registrations.js';
import { currentThreadId, hostName, processId } from '@collective/transport/runtime';
import { debugLevel, debugLine, debugSubsystems, Level, Subsys } from '../comm_base/debug_log.js';
import { FlightRecorder, Group, GROUPS } from './flight_recorder.js';
import { abortInfo, setAborted } from '../comm_base/abort_state.js';
import { Hdr, R, rankBase } from '../comm_base/comm_block.js';
import type { CommState } from './comm_state.js';
import { D, describeMismatch, fingerprint, firstMismatch, llFlag, putKey } from '../comm_base/descriptor.js';
import { SMALL_BYTES } from '../scratch_layout.js';

/** How long a failing rank waits for peers still inside the call to leave before it gives up its memory. */
const DRAIN_MS = 10_000;

/** A collective as the public API hands it over, validated. */
export interface CallRequest {
  kind: CollectiveKind;
  send: DeviceArray | undefined;
  recv: DeviceArray | undefined;
  /** their byteOffsets, read once */
  sendOff: number;
  recvOff: number;
  count: number;
  dtype: Dtype;
  op: ReduceOp;
  /** avg divides by this many ranks; 0: the communicator's size (a hierarchy's last step passes its parent's) */
  avgOver: number;
  root: number;
  timeoutMs: number;
  alg: Algorithm | undefined;
  /** send and recv are the same bytes */
  inPlace: boolean;
  /** bytes the call reads from send and writes to recv on this rank */
  reads: boolean;
  writes: boolean;
}

/**
 * The life of one call on one rank: its buffers resolved to registrations
 * and fenced, the call announced and matched with every peer, the
 * algorithm run, and on any failure after the announcement the
 * communicator aborted everywhere (fail-stop, like ncclCommAbort), the
 * peers still inside drained, and the call's fences failed.
 */
export class CallProtocol {
  private seq = 0;
  private currentKind = 'init';
  /**
   * The user's calls on this communicator: how many began, and the kind of
   * the last. Internal rounds (split's exchanges, a hierarchy's set-up) and
   * point-to-point transfers are not counted: every rank counts the same.
   */
  private userSeq = 0;
  private userKind: string = 'init';
  /** > 0 while a user's call runs rounds of its own on this communicator (split, a hierarchical call) */
  private internal = 0;
  /** this round is one of those, not the user's call itself */
  private ownStep = false;
  /** set on a hierarchy's internal group: the protocol of the communicator the user called, and which group this is */
  private parent: { protocol: CallProtocol; group: Group } | undefined;
  private dumped = false;
  /** the error that made this rank's communicator unusable */
  error: Error | undefined;
  /** a peer never left a failed call: this rank's memory must not be reused */
  undrained = false;
  private lastRegGen: number;
  private sweptFreeGen: number;
  private readonly freeGenAt: number;
  private readonly call: Call = { kind: 'barrier', count: 0, dtype: 'uint8', elemBytes: 1, op: 'sum', root: 0, divisor: 1, seq: 0, inPlace: false, staged: -1, flag: 0 };
  private readonly myDesc: Int32Array;
  private readonly inflightAt: number;
  private readonly seqAt: number;
  private readonly descAt: number;
  /** word index of this rank's small slot (parity 0) flag in pool memory, or -1 without shm peers */
  private readonly llFlagAt: number;
  private readonly poolWords: Int32Array;
  /** the last calls of this rank, dumped when the communicator fails (a hierarchy's groups record into their parent's) */
  recorder = new FlightRecorder();
  /** what net peers may reach of this rank's buffers during the current call */
  readonly windows = new CallWindows();
  private readonly debug = debugLevel();
  /** a line per call: INFO with the COLL subsystem (off by default, as NCCL's) */
  private readonly debugCalls = this.debug >= Level.INFO && (debugSubsystems() & Subsys.COLL) !== 0;

  constructor(private readonly s: CommState) {
    this.lastRegGen = Atomics.load(s.words, Hdr.REG_GEN);
    this.sweptFreeGen = s.pool.freeGeneration;
    this.freeGenAt = s.pool.freeGenerationIndex;
    this.myDesc = new Int32Array(D.WORDS);
    this.inflightAt = rankBase(s.rank) + R.INFLIGHT;
    this.seqAt = rankBase(s.rank) + R.SEQ;
    this.descAt = rankBase(s.rank) + R.DESC;
    this.poolWords = new Int32Array(s.pool.memory.buffer);
    this.llFlagAt = s.connectors.some((c) => c?.type === 'shm') ? (s.scratchBuf.offset + s.layout.smallSlot(s.rank, 0)) >> 2 : -1;
    const port = s.directory !== undefined && s.port?.provider === 'tcp' ? s.port : undefined;
    s.ctx.beginCalls({
      checkAbort: port
        ? () => {
            // Waits inside this process still hear of other processes' aborts and deaths.
            port.watch();
            if (Atomics.load(s.words, Hdr.ABORTED) !== 0) throw this.abortedError();
          }
        : () => {
            if (Atomics.load(s.words, Hdr.ABORTED) !== 0) throw this.abortedError();
          },
      late: (peer, what, ms) => `${this.callName()}: ${s.peerName(peer)} ${what} within ${ms} ms`,
    });
  }

  get sequence(): number {
    return this.seq;
  }

  /**
   * The call as the user knows it: kind and number on the communicator the
   * user called, the internal step in parentheses ("allReduce #12 (step:
   * broadcast #40 of the intra-process group)"). Point-to-point
   * transfers are not numbered: ranks make different ones.
   */
  callName(): string {
    if (this.parent) return `${this.parent.protocol.callName()} (step: ${this.stepName(this.seq)} of the ${GROUPS[this.parent.group]})`;
    if (this.currentKind === 'group' || this.currentKind === 'sendRecv') return this.currentKind;
    if (this.userKind === 'init') return 'init';
    return this.ownStep ? `${this.userKind} #${this.userSeq} (step: ${this.stepName(this.seq)})` : `${this.userKind} #${this.userSeq}`;
  }

  /** callName() of the round about to start, for errors before it is announced. */
  private nextCallName(): string {
    if (this.parent) return `${this.parent.protocol.callName()} (step: ${this.stepName(this.seq + 1)} of the ${GROUPS[this.parent.group]})`;
    if (this.internal > 0) return `${this.userKind} #${this.userSeq} (step: ${this.stepName(this.seq + 1)})`;
    return this.currentKind === 'group' || this.currentKind === 'sendRecv' ? this.currentKind : `${this.currentKind} #${this.userSeq + 1}`;
  }

  private stepName(seq: number): string {
    return this.currentKind === 'group' || this.currentKind === 'sendRecv' ? this.currentKind : `${this.currentKind} #${seq}`;
  }

  /** The user's call number and kind code an entry of this communicator's rounds goes under, and the group that ran it. */
  private recordCall(): number {
    return this.parent ? this.parent.protocol.userSeq : this.userSeq;
  }

  private recordCallKind(): number {
    const k = this.parent ? this.parent.protocol.userKind : this.userKind;
    return KIND[k as CollectiveKind] ?? 0;
  }

  /**
   * Makes this communicator a hierarchy's internal group of `parent`: its
   * errors name the parent's call with this one's as a step, its rounds
   * go into the parent's flight record, and it writes no record of its own.
   */
  adoptParent(parent: CallProtocol, group: Group): void {
    this.parent = { protocol: parent, group };
    this.recorder = parent.recorder;
  }

  /**
   * Begins a user's call that runs rounds of its own (split) or other
   * communicators' (a hierarchical call): counted and recorded once, its
   * rounds recorded as steps under it. A call nested in another (a
   * hierarchy's splits) is a step of the outer one: neither counted nor
   * recorded. Returns the mark for finishUserCall (-1 when nested).
   */
  enterUserCall(kind: CollectiveKind, count: number, dtype: Dtype, op: ReduceOp, root: number, algo: number): number {
    if (this.internal++ > 0) return -1;
    this.userSeq++;
    this.userKind = kind;
    return this.recorder.begin(0, KIND[kind], count, DTYPE_CODE[dtype], OP_CODE[op], root, algo, this.userSeq, KIND[kind], Group.OWN);
  }

  /** Records how the user's call of `mark` ended (before a failure's dump, so the record shows it). */
  finishUserCall(mark: number, ok: boolean): void {
    this.recorder.finish(mark, ok);
  }

  leaveUserCall(): void {
    this.internal--;
  }

  private abortedError(): CollectiveError {
    const info = abortInfo(this.s.words)!;
    if (info.rank === this.s.rank) return new CollectiveError(info.code, info.reason);
    return new CollectiveError(info.code, `${this.callName()}: the communicator was aborted by ${this.s.peerName(info.rank)}: ${info.reason}`);
  }

  /** Throws if the communicator can take no more calls. (A plain load: the call checks again once inside.) */
  checkUsable(destroyed: boolean, kind?: string): void {
    if (destroyed) throw new CollectiveError('EINVAL', 'communicator is destroyed');
    if (this.error) throw new CollectiveError('EIO', `communicator is unusable after an earlier error (${this.error.message}); destroy it and create a new one`);
    if (this.s.words[Hdr.ABORTED] !== 0) {
      const info = abortInfo(this.s.words)!;
      const err = new CollectiveError(info.code, `${this.nextUserCallName(kind)}: the communicator was aborted by ${this.s.peerName(info.rank)}: ${info.reason}`);
      // A rank that was elsewhere when its peers failed records where it was: a trace then shows it behind, not silent.
      this.dump(err.message);
      throw err;
    }
  }

  /** The user's next call, as checkUsable refuses it. */
  private nextUserCallName(kind: string | undefined): string {
    if (this.parent) return this.parent.protocol.callName();
    return this.internal > 0 ? `${this.userKind} #${this.userSeq}` : `${kind ?? 'call'} #${this.userSeq + 1}`;
  }

  /**
   * Peers dropped registrations, or buffers were freed: let go of what went
   * with them. The triggers are read plainly: seeing a change a call late
   * only delays a release.
   */
  sweep(): void {
    const free = this.s.pool.ctl[this.freeGenAt]!;
    const g = this.s.words[Hdr.REG_GEN]!;
    if (free === this.sweptFreeGen && g === this.lastRegGen) return;
    this.s.regs.sweep(true);
    this.lastRegGen = g;
    this.sweptFreeGen = free;
    this.s.imports.sweep();
  }

  /** Resolves a buffer to its registration; a registration that went bad fails the call on every rank. */
  private resolve(a: DeviceArray, off: number, bytes: number, what: string): Registration {
    try {
      return this.s.regs.resolve(a, off, bytes, what);
    } catch (e) {
      if (e instanceof RegistrationGone) this.failStop(e, `${this.nextCallName()}: ${e.message.replace(/^[A-Z]+: /, '')}`);
      throw e;
    }
  }

  /** Aborts the communicator for every rank before anything was announced, then throws. */
  private failStop(e: TransportError, reason: string): never {
    setAborted(this.s.words, this.s.rank, e.code, reason);
    for (const c of this.s.connectors) c?.abort();
    const err = new CollectiveError(e.code, reason);
    this.error = err;
    throw err;
  }

  run(req: CallRequest): void {
    const s = this.s;
    this.currentKind = req.kind;
    const sendBytes = req.send ? req.send.length * req.send.BYTES_PER_ELEMENT : 0;
    const recvBytes = req.recv ? req.recv.length * req.recv.BYTES_PER_ELEMENT : 0;
    const sendReg = sendBytes > 0 ? this.resolve(req.send!, req.sendOff, sendBytes, 'send') : undefined;
    const recvReg = recvBytes > 0 ? this.resolve(req.recv!, req.recvOff, recvBytes, 'recv') : undefined;
    this.sweep();
    // One buffer read and written takes one write fence, which covers the read.
    const oneBuffer = sendReg !== undefined && sendReg === recvReg;
    const reads = !oneBuffer && req.reads ? sendReg : undefined;
    const writes = req.writes || oneBuffer ? recvReg : undefined;

    const call = this.call;
    call.kind = req.kind;
    call.count = req.count;
    call.dtype = req.dtype;
    call.elemBytes = DTYPE_BYTES[req.dtype];
    call.op = req.op;
    call.root = req.root;
    call.divisor = req.op === 'avg' ? req.avgOver || s.size : 1;
    call.inPlace = req.inPlace;
    call.staged = -1;
    const b = s.prims.buffers;
    b.sendAt = req.sendOff;
    b.recvAt = req.recvOff;
    b.sendRegion.base = sendReg?.base ?? 0;
    b.sendRegion.mr = sendReg?.mr;
    b.recvRegion.base = recvReg?.base ?? 0;
    b.recvRegion.mr = recvReg?.mr;
    // ll touches only this rank's own slot and reads peers' slots: it never
    // reaches a peer's buffers, so it needs no in-flight mark for a drain.
    const ll = req.alg?.proto === 'll';
    this.enter(req.timeoutMs, reads, writes, undefined, !ll);
    let failure: Error | undefined;
    try {
      // Simple calls pair the in-flight store with this load (a Dekker
      // pair against a failing rank's drain): it must be atomic. ll touches
      // no peer memory, and its waits watch the abort word.
      if (ll ? s.words[Hdr.ABORTED] !== 0 : Atomics.load(s.words, Hdr.ABORTED) !== 0) throw this.abortedError();
      const seq = ++this.seq;
      call.seq = seq;
      if (this.internal === 0) {
        this.userSeq++;
        this.userKind = req.kind;
      } else {
        this.ownStep = true;
      }
      const d = this.describeCall(seq, req, sendReg, recvReg);
      call.flag = llFlag(seq, this.lastCall.fp);
      this.mark = this.recorder.begin(seq, d[D.KIND]!, d[D.COUNT]!, d[D.DTYPE]!, d[D.OP]!, d[D.ROOT]!, d[D.ALGO]!, this.recordCall(), this.recordCallKind(), this.parent ? this.parent.group : this.ownStep ? Group.SELF : Group.OWN);
      if (this.debugCalls) debugLine(s.peerRank(s.rank), Level.INFO, `${this.callName()}: ${req.count} × ${req.dtype}, op ${req.op}, root ${req.root}, algorithm ${req.alg ? algoOfCode(req.alg.code) : 'none'}`);
      if (ll) {
        // The flag is the announcement; the sequence word only lets a peer
        // that took the simple path for this call read our descriptor and
        // name the mismatch. It is stored plainly and published by the
        // flag's atomic store (a sleeping simple peer wakes within its
        // 20 ms slice: that path only ends in an error).
        s.words[this.seqAt] = seq;
        req.alg!.run(s.prims, call);
        s.prims.leaveLl();
      } else {
        // Peers reach this call's views, and only them, from its announcement until it leaves.
        this.windows.openCall(sendReg, req.sendOff, sendBytes, recvReg, req.recvOff, recvBytes);
        req.alg?.prepare?.(s.prims, call);
        this.announce(seq);
        this.awaitPeers(seq);
        req.alg?.run(s.prims, call);
        // A tcp transfer runs after its post returned, on the buffer it
        // names: the call ends when the last one on a user buffer has, so
        // the caller may reuse or free its buffers at once.
        s.prims.flushUser();
      }
    } catch (e) {
      failure = e as Error;
    }
    this.leave(reads, writes, failure, !ll);
  }

  /** the flight record's mark of the current round */
  private mark = -1;

  /**
   * Records the current point-to-point group under its own kind, after
   * the user's call number it follows (neither number advances: ranks
   * make different transfers).
   */
  recordGroup(kind: number, count: number, dtype: number, peer: number): void {
    this.mark = this.recorder.begin(this.seq, kind, count, dtype, 0, peer, 0, this.recordCall(), this.parent ? this.recordCallKind() : kind, this.parent ? this.parent.group : Group.OWN);
  }

  /**
   * Begins one call of this rank: the buffers' fences honoured and
   * published (a timeout there is a local error: nothing is announced yet),
   * then the rank counted inside the call, where it may touch peers' memory.
   */
  enter(timeoutMs: number, reads: Registration | undefined, writes: Registration | undefined, kind?: string, inflight = true): void {
    const s = this.s;
    if (kind) this.currentKind = kind;
    s.clock.timeoutMs = timeoutMs;
    s.clock.start = 0;
    if (reads) this.fence(reads, 'read', timeoutMs);
    if (writes) {
      try {
        this.fence(writes, 'write', timeoutMs);
      } catch (e) {
        reads?.end('read');
        throw e;
      }
    }
    if (inflight) Atomics.store(s.words, this.inflightAt, this.seq + 1);
  }

  /**
   * enter() for a group of point-to-point transfers: one fence per
   * distinct buffer (a write where any transfer writes it), all or none.
   */
  enterGroup(timeoutMs: number, regs: readonly Registration[], writes: readonly boolean[]): void {
    const s = this.s;
    this.currentKind = 'group';
    s.clock.timeoutMs = timeoutMs;
    s.clock.start = 0;
    for (let i = 0; i < regs.length; i++) {
      try {
        this.fence(regs[i]!, writes[i] ? 'write' : 'read', timeoutMs);
      } catch (e) {
        for (let k = 0; k < i; k++) regs[k]!.end(writes[k] ? 'write' : 'read');
        throw e;
      }
    }
    Atomics.store(s.words, this.inflightAt, this.seq + 1);
  }

  /** leave() for enterGroup(). */
  leaveGroup(regs: readonly Registration[], writes: readonly boolean[], failure: Error | undefined): void {
    const s = this.s;
    this.windows.closeAll();
    this.recorder.finish(this.mark, failure === undefined);
    this.mark = -1;
    if (failure) this.fail(failure);
    Atomics.store(s.words, this.inflightAt, 0);
    if (Atomics.load(s.words, Hdr.ABORTED) !== 0) Atomics.notify(s.words, this.inflightAt);
    const err = failure && (this.error as TransportError);
    for (let i = 0; i < regs.length; i++) regs[i]!.end(writes[i] ? 'write' : 'read', err);
    if (failure) throw this.error;
  }

  private fence(reg: Registration, access: 'read' | 'write', timeoutMs: number): void {
    try {
      reg.begin(access, timeoutMs);
    } catch (e) {
      const err = e as TransportError;
      throw new CollectiveError(err.code ?? 'EIO', `${this.nextCallName()}: waiting for the fences on the ${access === 'read' ? 'input' : 'output'}: ${err.message.replace(/^[A-Z]+: /, '')}`);
    }
  }

  /**
   * Ends the call: peers lose access to its buffers (first: a failing
   * rank's peers in other processes may still be at work), a failure
   * inside it becomes a fail-stop abort, the rank leaves, and every fence
   * it published reports the outcome.
   */
  leave(reads: Registration | undefined, writes: Registration | undefined, failure: Error | undefined, inflight = true): void {
    const s = this.s;
    this.windows.closeAll();
    this.recorder.finish(this.mark, failure === undefined);
    this.mark = -1;
    // The failure names the step it happened in.
    if (failure) this.fail(failure);
    this.ownStep = false;
    if (inflight) {
      Atomics.store(s.words, this.inflightAt, 0);
      // A rank draining after an abort sleeps on this word; in a healthy call nobody does.
      if (Atomics.load(s.words, Hdr.ABORTED) !== 0) Atomics.notify(s.words, this.inflightAt);
    }
    const err = failure && (this.error as TransportError);
    reads?.end('read', err);
    writes?.end('write', err);
    if (failure) throw this.error;
  }

  /** Resolves a user view to its registration (p2p and collectives alike). */
  registration(a: DeviceArray, what: string): Registration {
    return this.resolve(a, a.byteOffset, a.byteLength, what);
  }

  /**
   * Fills this rank's descriptor of call `seq` and writes it where shm peers
   * read it. A call like the last one (a training loop) only changes the
   * sequence number, and its fingerprint is reused.
   */
  private describeCall(seq: number, req: CallRequest, sendReg: Registration | undefined, recvReg: Registration | undefined): Int32Array {
    const d = this.myDesc;
    const m = this.lastCall;
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
    describe(d, D.SEND_EXP, sendReg, req.sendOff);
    describe(d, D.RECV_EXP, recvReg, req.recvOff);
    m.fp = fingerprint(d, 0);
    this.s.words.set(d, this.descAt + (seq & 1) * D.WORDS);
    this.written[seq & 1] = ++this.descGen;
    return d;
  }

  /** Which descriptor (by descGen) each parity slot of the shared block holds. */
  private readonly written = [-1, -1];
  private descGen = 0;

  /** What the last descriptor described; fp < 0 until there was one. */
  private readonly lastCall = {
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

  /**
   * Announces call `seq` (simple protocol): the sequence word in the shared
   * block for shm peers, the descriptor by RMA for net peers, and the ll
   * flag in this rank's small slot, so a peer that took the ll path for
   * what it thinks is the same call sees the fingerprint differ.
   */
  private announce(seq: number): void {
    const s = this.s;
    if (s.port) new Int32Array(s.pool.memory.buffer, s.privBuf.offset + s.priv.descOutFor(seq), D.WORDS).set(this.myDesc);
    if (this.llFlagAt >= 0) s.sync.postPoolWord(this.poolWords, this.llFlagAt + ((seq & 1) * SMALL_BYTES >> 2), this.call.flag);
    s.sync.post(this.seqAt, seq);
    for (const c of s.connectors) if (c?.type === 'net') c.sendDesc(seq, s.ctx);
  }

  /** Waits for every peer's descriptor of `seq`; a disagreement fails the call. */
  private awaitPeers(seq: number): void {
    const s = this.s;
    for (let i = 1; i < s.size; i++) {
      const q = (s.rank + i) % s.size;
      const c = s.connectors[q]!;
      const [w, at] = c.recvDesc(seq, s.ctx);
      const bad = firstMismatch(this.myDesc, 0, w, at);
      if (bad !== -1) throw new CollectiveError('EINVAL', `${this.callName()}: ${describeMismatch(bad, s.peerName(q), w[at + bad]!, s.peerName(s.rank), this.myDesc[bad]!)}`);
      c.bindCall(w, at);
    }
  }

  /**
   * Fail-stop after the call was announced: the communicator is aborted
   * for every rank (the first reason wins), and this rank waits until no
   * peer of the pool is still inside a call that may touch its memory.
   */
  fail(e: Error): void {
    const s = this.s;
    const code: ErrorCode = e instanceof TransportError ? e.code : 'EIO';
    const bare = e.message.replace(/^[A-Z]+: /, '');
    // Every error names the user's call it failed (a transfer's error knows only the peer).
    const name = this.callName();
    const message = bare.startsWith(name) ? bare : `${name}: ${bare}`;
    const first = setAborted(s.words, s.rank, code, message);
    if (first) for (const c of s.connectors) c?.abort();
    // The rank that aborted first reports its own failure; the others, the root cause it recorded.
    this.error = first ? new CollectiveError(code, message) : this.abortedError();
    Atomics.store(s.words, rankBase(s.rank) + R.INFLIGHT, 0);
    this.drain();
    this.dump();
  }

  /**
   * Writes this rank's flight record to COLLECTIVE_DUMP_DIR, if set, once;
   * a failing dump never hides the call's error. A hierarchy's groups write
   * none: their rounds are in the parent's record, which the parent writes.
   */
  dump(error: string | undefined = this.error?.message): void {
    const s = this.s;
    if (this.parent || this.dumped) return;
    this.dumped = true;
    try {
      const info = abortInfo(s.words);
      const file = this.recorder.dump({
        comm: s.label,
        rank: s.rank,
        size: s.size,
        pid: processId(),
        thread: currentThreadId(),
        host: s.directory?.[s.rank]?.host ?? hostName(),
        peers: s.directory ? s.directory.map((r) => ({ host: r.host, pid: r.pid })) : null,
        lastCall: this.userSeq,
        lastCallKind: this.userKind,
        error: error ?? null,
        abortedBy: info === undefined ? null : s.peerRank(info.rank),
        lastSeq: this.seq,
      });
      if (file && this.debug >= Level.INFO) debugLine(s.peerRank(s.rank), Level.INFO, `flight record written to ${file}`);
    } catch (e) {
      if (this.debug >= Level.INFO) debugLine(s.peerRank(s.rank), Level.INFO, `could not write the flight record: ${(e as Error).message}`);
    }
  }

  /** Waits (bounded) until every other rank of the pool has left its call or died. */
  drain(): void {
    const s = this.s;
    const until = performance.now() + DRAIN_MS;
    for (let q = 0; q < s.size; q++) {
      if (q === s.rank) continue;
      const b = rankBase(q);
      for (;;) {
        const v = Atomics.load(s.words, b + R.INFLIGHT);
        if (v === 0 || s.pool.isThreadDead(s.words[b + R.THREAD]!)) break;
        const left = until - performance.now();
        if (left <= 0) {
          this.undrained = true;
          break;
        }
        Atomics.wait(s.words, b + R.INFLIGHT, v, Math.min(left, 20));
      }
    }
  }

  /** ncclCommAbort's core: marks the communicator aborted by this rank and drains. */
  abort(reason: string): void {
    if (setAborted(this.s.words, this.s.rank, 'ECANCELED', reason)) for (const c of this.s.connectors) c?.abort();
    this.drain();
    this.dump();
  }
}

/** Writes a registration's handle, key and the view's offset into a descriptor. */
function describe(d: Int32Array, first: D, reg: Registration | undefined, viewOff: number): void {
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

