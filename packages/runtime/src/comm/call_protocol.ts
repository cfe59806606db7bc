import type { TransportError } from '@collective/transport';
import { algoOfCode } from '../algorithm.js';
import type { Call } from '../call.js';
import { CollectiveError } from '../comm_errors.js';
import type { CollectiveKind } from '../collective_kind.js';
import type { DeviceArray } from '../device_array.js';
import { DTYPE_BYTES, type Dtype } from '../dtypes.js';
import type { ReduceOp } from '../ops.js';
import { CallWindows } from '../registration/call_windows.js';
import { type Registration, RegistrationGone } from '../registration/registrations.js';
import { debugLevel, debugLine, debugSubsystems, Level, Subsys } from '../comm_base/debug_log.js';
import { Hdr, R, rankBase } from '../comm_base/comm_block.js';
import { llFlag } from '../comm_base/descriptor.js';
import { CallDescriptor } from './call_descriptor.js';
import type { CallRequest } from './call_request.js';
import type { CommState } from './comm_state.js';
import { FailStop } from './fail_stop.js';
import type { Group } from './flight_recorder.js';
import { UserCalls } from './user_calls.js';

export type { CallRequest } from './call_request.js';

/**
 * The life of one call on one rank: its buffers resolved to registrations
 * and fenced, the call announced and matched with every peer
 * (CallDescriptor), the algorithm run, and on any failure after the
 * announcement the communicator aborted everywhere (FailStop). The user's
 * calls are numbered, named and recorded by UserCalls.
 */
export class CallProtocol {
  private readonly calls = new UserCalls();
  private readonly desc: CallDescriptor;
  private readonly stop: FailStop;
  private lastRegGen: number;
  private sweptFreeGen: number;
  private readonly freeGenAt: number;
  private readonly call: Call = { kind: 'barrier', count: 0, dtype: 'uint8', elemBytes: 1, op: 'sum', root: 0, divisor: 1, seq: 0, inPlace: false, staged: -1, flag: 0 };
  private readonly inflightAt: number;
  /** what net peers may reach of this rank's buffers during the current call */
  readonly windows = new CallWindows();
  /** a line per call: INFO with the COLL subsystem (off by default, as NCCL's) */
  private readonly debugCalls = debugLevel() >= Level.INFO && (debugSubsystems() & Subsys.COLL) !== 0;

  constructor(private readonly s: CommState) {
    this.desc = new CallDescriptor(s, this.calls);
    this.stop = new FailStop(s, this.calls);
    this.lastRegGen = Atomics.load(s.words, Hdr.REG_GEN);
    this.sweptFreeGen = s.pool.freeGeneration;
    this.freeGenAt = s.pool.freeGenerationIndex;
    this.inflightAt = rankBase(s.rank) + R.INFLIGHT;
    const port = s.directory !== undefined && s.port?.provider === 'tcp' ? s.port : undefined;
    s.ctx.beginCalls({
      checkAbort: port
        ? () => {
            // Waits inside this process still hear of other processes' aborts and deaths.
            port.watch();
            if (Atomics.load(s.words, Hdr.ABORTED) !== 0) throw this.stop.abortedError();
          }
        : () => {
            if (Atomics.load(s.words, Hdr.ABORTED) !== 0) throw this.stop.abortedError();
          },
      late: (peer, what, ms) => `${this.calls.callName()}: ${s.peerName(peer)} ${what} within ${ms} ms`,
    });
  }

  get sequence(): number {
    return this.calls.sequence;
  }

  /** the error that made this rank's communicator unusable */
  get error(): Error | undefined {
    return this.stop.error;
  }

  /** a peer never left a failed call: this rank's memory must not be reused */
  get undrained(): boolean {
    return this.stop.undrained;
  }

  /** The call as the user knows it (UserCalls.callName). */
  callName(): string {
    return this.calls.callName();
  }

  /**
   * Makes this communicator a hierarchy's internal group of `parent`: its
   * errors name the parent's call with this one's as a step, its rounds
   * go into the parent's flight record, and it writes no record of its own.
   */
  adoptParent(parent: CallProtocol, group: Group): void {
    this.calls.adoptParent(parent.calls, group);
  }

  /** Begins a user's call that runs rounds of its own or other communicators' (UserCalls.enterUserCall). */
  enterUserCall(kind: CollectiveKind, count: number, dtype: Dtype, op: ReduceOp, root: number, algo: number): number {
    return this.calls.enterUserCall(kind, count, dtype, op, root, algo);
  }

  /** Records how the user's call of `mark` ended (before a failure's dump, so the record shows it). */
  finishUserCall(mark: number, ok: boolean): void {
    this.calls.finishUserCall(mark, ok);
  }

  leaveUserCall(): void {
    this.calls.leaveUserCall();
  }

  /** Records the current point-to-point group (UserCalls.recordGroup). */
  recordGroup(kind: number, count: number, dtype: number, peer: number): void {
    this.calls.recordGroup(kind, count, dtype, peer);
  }

  /** Throws if the communicator can take no more calls. (A plain load: the call checks again once inside.) */
  checkUsable(destroyed: boolean, kind?: string): void {
    this.stop.checkUsable(destroyed, kind);
  }

  /** Fail-stop after the call was announced (FailStop.fail). */
  fail(e: Error): void {
    this.stop.fail(e);
  }

  /** Writes this rank's flight record once, if COLLECTIVE_DUMP_DIR is set (FailStop.dump). */
  dump(error?: string): void {
    this.stop.dump(error);
  }

  /** Waits (bounded) until every other rank of the pool has left its call or died. */
  drain(): void {
    this.stop.drain();
  }

  /** ncclCommAbort's core: marks the communicator aborted by this rank and drains. */
  abort(reason: string): void {
    this.stop.abort(reason);
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

  /** Resolves a user view to its registration (p2p and collectives alike). */
  registration(a: DeviceArray, what: string): Registration {
    return this.resolve(a, a.byteOffset, a.byteLength, what);
  }

  /** Resolves a buffer to its registration; a registration that went bad fails the call on every rank. */
  private resolve(a: DeviceArray, off: number, bytes: number, what: string): Registration {
    try {
      return this.s.regs.resolve(a, off, bytes, what);
    } catch (e) {
      if (e instanceof RegistrationGone) this.stop.failUnannounced(e, `${this.calls.nextCallName()}: ${e.message.replace(/^[A-Z]+: /, '')}`);
      throw e;
    }
  }

  run(req: CallRequest): void {
    const s = this.s;
    this.calls.setKind(req.kind);
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
      if (ll ? s.words[Hdr.ABORTED] !== 0 : Atomics.load(s.words, Hdr.ABORTED) !== 0) throw this.stop.abortedError();
      const seq = this.calls.beginRound();
      call.seq = seq;
      const d = this.desc.describe(seq, req, sendReg, recvReg);
      call.flag = llFlag(seq, this.desc.fingerprint);
      this.calls.recordRound(d);
      if (this.debugCalls) debugLine(s.peerRank(s.rank), Level.INFO, `${this.calls.callName()}: ${req.count} × ${req.dtype}, op ${req.op}, root ${req.root}, algorithm ${req.alg ? algoOfCode(req.alg.code) : 'none'}`);
      if (ll) {
        this.desc.markLl(seq);
        req.alg!.run(s.prims, call);
        s.prims.leaveLl();
      } else {
        // Peers reach this call's views, and only them, from its announcement until it leaves.
        this.windows.openCall(sendReg, req.sendOff, sendBytes, recvReg, req.recvOff, recvBytes);
        req.alg?.prepare?.(s.prims, call);
        this.desc.announce(seq, call.flag);
        this.desc.awaitPeers(seq);
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

  /**
   * Begins one call of this rank: the buffers' fences honoured and
   * published (a timeout there is a local error: nothing is announced yet),
   * then the rank counted inside the call, where it may touch peers' memory.
   */
  enter(timeoutMs: number, reads: Registration | undefined, writes: Registration | undefined, kind?: string, inflight = true): void {
    const s = this.s;
    if (kind) this.calls.setKind(kind);
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
    if (inflight) Atomics.store(s.words, this.inflightAt, this.calls.sequence + 1);
  }

  /**
   * enter() for a group of point-to-point transfers: one fence per
   * distinct buffer (a write where any transfer writes it), all or none.
   */
  enterGroup(timeoutMs: number, regs: readonly Registration[], writes: readonly boolean[]): void {
    const s = this.s;
    this.calls.setKind('group');
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
    Atomics.store(s.words, this.inflightAt, this.calls.sequence + 1);
  }

  /** leave() for enterGroup(). */
  leaveGroup(regs: readonly Registration[], writes: readonly boolean[], failure: Error | undefined): void {
    const s = this.s;
    this.windows.closeAll();
    this.calls.finishRound(failure === undefined);
    if (failure) this.stop.fail(failure);
    Atomics.store(s.words, this.inflightAt, 0);
    if (Atomics.load(s.words, Hdr.ABORTED) !== 0) Atomics.notify(s.words, this.inflightAt);
    const err = failure && (this.stop.error as TransportError);
    for (let i = 0; i < regs.length; i++) regs[i]!.end(writes[i] ? 'write' : 'read', err);
    if (failure) throw this.stop.error;
  }

  private fence(reg: Registration, access: 'read' | 'write', timeoutMs: number): void {
    try {
      reg.begin(access, timeoutMs);
    } catch (e) {
      const err = e as TransportError;
      throw new CollectiveError(err.code ?? 'EIO', `${this.calls.nextCallName()}: waiting for the fences on the ${access === 'read' ? 'input' : 'output'}: ${err.message.replace(/^[A-Z]+: /, '')}`);
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
    this.calls.finishRound(failure === undefined);
    // The failure names the step it happened in.
    if (failure) this.stop.fail(failure);
    this.calls.endStep();
    if (inflight) {
      Atomics.store(s.words, this.inflightAt, 0);
      // A rank draining after an abort sleeps on this word; in a healthy call nobody does.
      if (Atomics.load(s.words, Hdr.ABORTED) !== 0) Atomics.notify(s.words, this.inflightAt);
    }
    const err = failure && (this.stop.error as TransportError);
    reads?.end('read', err);
    writes?.end('write', err);
    if (failure) throw this.stop.error;
  }
}
