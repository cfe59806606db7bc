import type { CollectiveKind } from '../collective_kind.js';
import { KIND } from '../collective_kind.js';
import { DTYPE_CODE, type Dtype } from '../dtypes.js';
import { OP_CODE, type ReduceOp } from '../ops.js';
import { D } from '../comm_base/descriptor.js';
import { FlightRecorder, Group, GROUPS, type TraceDump } from './flight_recorder.js';

/**
 * Which call of the user a round of a communicator belongs to: the rounds'
 * own sequence, the user's calls counted and named as the user knows them
 * (in every error), and each round's entry in the flight record.
 */
export class UserCalls {
  /** the communicator's rounds: every announced call, the user's and its own */
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
  /** set on a hierarchy's internal group: the calls of the communicator the user called, and which group this is */
  private parent: { calls: UserCalls; group: Group } | undefined;
  /** the last calls of this rank, dumped when the communicator fails (a hierarchy's groups record into their parent's) */
  private recorder = new FlightRecorder();
  /** the flight record's mark of the current round */
  private mark = -1;

  /** the sequence number of the last round begun */
  get sequence(): number {
    return this.seq;
  }

  /** Names the rounds that follow (until the next call of this) by `kind`: a collective, 'group' or 'sendRecv'. */
  setKind(kind: string): void {
    this.currentKind = kind;
  }

  /**
   * The call as the user knows it: kind and number on the communicator the
   * user called, the internal step in parentheses ("allReduce #12 (step:
   * broadcast #40 of the intra-process group)"). Point-to-point
   * transfers are not numbered: ranks make different ones.
   */
  callName(): string {
    if (this.parent) return `${this.parent.calls.callName()} (step: ${this.stepName(this.seq)} of the ${GROUPS[this.parent.group]})`;
    if (this.currentKind === 'group' || this.currentKind === 'sendRecv') return this.currentKind;
    if (this.userKind === 'init') return 'init';
    return this.ownStep ? `${this.userKind} #${this.userSeq} (step: ${this.stepName(this.seq)})` : `${this.userKind} #${this.userSeq}`;
  }

  /** callName() of the round about to start, for errors before it is announced. */
  nextCallName(): string {
    if (this.parent) return `${this.parent.calls.callName()} (step: ${this.stepName(this.seq + 1)} of the ${GROUPS[this.parent.group]})`;
    if (this.internal > 0) return `${this.userKind} #${this.userSeq} (step: ${this.stepName(this.seq + 1)})`;
    return this.currentKind === 'group' || this.currentKind === 'sendRecv' ? this.currentKind : `${this.currentKind} #${this.userSeq + 1}`;
  }

  /** The user's next call, as a check before it begins refuses it. */
  nextUserCallName(kind: string | undefined): string {
    if (this.parent) return this.parent.calls.callName();
    return this.internal > 0 ? `${this.userKind} #${this.userSeq}` : `${kind ?? 'call'} #${this.userSeq + 1}`;
  }

  private stepName(seq: number): string {
    return this.currentKind === 'group' || this.currentKind === 'sendRecv' ? this.currentKind : `${this.currentKind} #${seq}`;
  }

  /** The user's call number an entry of this communicator's rounds goes under. */
  private recordCall(): number {
    return this.parent ? this.parent.calls.userSeq : this.userSeq;
  }

  /** The kind code of that user's call. */
  private recordCallKind(): number {
    const k = this.parent ? this.parent.calls.userKind : this.userKind;
    return KIND[k as CollectiveKind] ?? 0;
  }

  /**
   * Makes these the calls of a hierarchy's internal group of `parent`: their
   * names carry the parent's call with this one's as a step, their rounds
   * go into the parent's flight record, and no record of their own is kept.
   */
  adoptParent(parent: UserCalls, group: Group): void {
    this.parent = { calls: parent, group };
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

  /**
   * Numbers the round about to be announced: the user's call itself, or a
   * step of the user's call that is running. Returns its sequence number.
   */
  beginRound(): number {
    const seq = ++this.seq;
    if (this.internal === 0) {
      this.userSeq++;
      this.userKind = this.currentKind;
    } else {
      this.ownStep = true;
    }
    return seq;
  }

  /** Records the round begun last, as its descriptor `d` describes it. */
  recordRound(d: Int32Array): void {
    const group = this.parent ? this.parent.group : this.ownStep ? Group.SELF : Group.OWN;
    this.mark = this.recorder.begin(this.seq, d[D.KIND]!, d[D.COUNT]!, d[D.DTYPE]!, d[D.OP]!, d[D.ROOT]!, d[D.ALGO]!, this.recordCall(), this.recordCallKind(), group);
  }

  /**
   * Records the current point-to-point group under its own kind, after
   * the user's call number it follows (neither number advances: ranks
   * make different transfers).
   */
  recordGroup(kind: number, count: number, dtype: number, peer: number): void {
    this.mark = this.recorder.begin(this.seq, kind, count, dtype, 0, peer, 0, this.recordCall(), this.parent ? this.recordCallKind() : kind, this.parent ? this.parent.group : Group.OWN);
  }

  /** Records how the current round (or group) ended. */
  finishRound(ok: boolean): void {
    this.recorder.finish(this.mark, ok);
    this.mark = -1;
  }

  /** The round has left: later names are the user's call's own again. */
  endStep(): void {
    this.ownStep = false;
  }

  /** A hierarchy's groups keep no record: their rounds are in the parent's, which the parent writes. */
  get keepsRecord(): boolean {
    return this.parent === undefined;
  }

  /** Writes the flight record (FlightRecorder.dump) under `header` and where this rank's calls stand. */
  writeRecord(header: Omit<TraceDump, 'format' | 'calls' | 'lastCall' | 'lastCallKind' | 'lastSeq'>): string | undefined {
    const h = header;
    // Fields in the dump's documented order: people read these files.
    return this.recorder.dump({
      comm: h.comm, rank: h.rank, size: h.size, pid: h.pid, thread: h.thread, host: h.host, peers: h.peers,
      lastCall: this.userSeq,
      lastCallKind: this.userKind,
      error: h.error,
      abortedBy: h.abortedBy,
      lastSeq: this.seq,
    });
  }
}
