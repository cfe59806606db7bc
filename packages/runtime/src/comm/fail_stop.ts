import { type ErrorCode, TransportError } from '@collective/transport';
import { currentThreadId, hostName, processId } from '@collective/transport/runtime';
import { CollectiveError } from '../comm_errors.js';
import { debugLevel, debugLine, Level } from '../comm_base/debug_log.js';
import { abortInfo, setAborted } from '../comm_base/abort_state.js';
import { Hdr, R, rankBase } from '../comm_base/comm_block.js';
import type { CommState } from './comm_state.js';
import type { UserCalls } from './user_calls.js';

/** How long a failing rank waits for peers still inside the call to leave before it gives up its memory. */
const DRAIN_MS = 10_000;

/**
 * Fail-stop for one rank of a communicator (as ncclCommAbort): a failure
 * aborts the communicator for every rank, the first reason wins and every
 * rank names it, the rank waits for peers still inside a call that may
 * touch its memory, and its flight record is written once.
 */
export class FailStop {
  /** the error that made this rank's communicator unusable */
  error: Error | undefined;
  /** a peer never left a failed call: this rank's memory must not be reused */
  undrained = false;
  private dumped = false;
  private readonly debug = debugLevel();

  constructor(
    private readonly s: CommState,
    private readonly calls: UserCalls,
  ) {}

  /** The error of a call that finds the communicator aborted: the root cause, and who recorded it. */
  abortedError(): CollectiveError {
    const info = abortInfo(this.s.words)!;
    if (info.rank === this.s.rank) return new CollectiveError(info.code, info.reason);
    return new CollectiveError(info.code, `${this.calls.callName()}: the communicator was aborted by ${this.s.peerName(info.rank)}: ${info.reason}`);
  }

  /** Throws if the communicator can take no more calls. (A plain load: the call checks again once inside.) */
  checkUsable(destroyed: boolean, kind?: string): void {
    if (destroyed) throw new CollectiveError('EINVAL', 'communicator is destroyed');
    if (this.error) throw new CollectiveError('EIO', `communicator is unusable after an earlier error (${this.error.message}); destroy it and create a new one`);
    if (this.s.words[Hdr.ABORTED] !== 0) {
      const info = abortInfo(this.s.words)!;
      const err = new CollectiveError(info.code, `${this.calls.nextUserCallName(kind)}: the communicator was aborted by ${this.s.peerName(info.rank)}: ${info.reason}`);
      // A rank that was elsewhere when its peers failed records where it was: a trace then shows it behind, not silent.
      this.dump(err.message);
      throw err;
    }
  }

  /** Aborts the communicator for every rank before anything was announced (no peer is inside: no drain), then throws. */
  failUnannounced(e: TransportError, reason: string): never {
    setAborted(this.s.words, this.s.rank, e.code, reason);
    for (const c of this.s.connectors) c?.abort();
    const err = new CollectiveError(e.code, reason);
    this.error = err;
    throw err;
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
    const name = this.calls.callName();
    const message = bare.startsWith(name) ? bare : `${name}: ${bare}`;
    const first = setAborted(s.words, s.rank, code, message);
    if (first) for (const c of s.connectors) c?.abort();
    // The rank that aborted first reports its own failure; the others, the root cause it recorded.
    this.error = first ? new CollectiveError(code, message) : this.abortedError();
    Atomics.store(s.words, rankBase(s.rank) + R.INFLIGHT, 0);
    this.drain();
    this.dump();
  }

  /** ncclCommAbort's core: marks the communicator aborted by this rank and drains. */
  abort(reason: string): void {
    if (setAborted(this.s.words, this.s.rank, 'ECANCELED', reason)) for (const c of this.s.connectors) c?.abort();
    this.drain();
    this.dump();
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

  /**
   * Writes this rank's flight record to COLLECTIVE_DUMP_DIR, if set, once;
   * a failing dump never hides the call's error. A hierarchy's groups write
   * none: their rounds are in the parent's record, which the parent writes.
   */
  dump(error: string | undefined = this.error?.message): void {
    const s = this.s;
    if (!this.calls.keepsRecord || this.dumped) return;
    this.dumped = true;
    try {
      const info = abortInfo(s.words);
      const file = this.calls.writeRecord({
        comm: s.label,
        rank: s.rank,
        size: s.size,
        pid: processId(),
        thread: currentThreadId(),
        host: s.directory?.[s.rank]?.host ?? hostName(),
        peers: s.directory ? s.directory.map((r) => ({ host: r.host, pid: r.pid })) : null,
        error: error ?? null,
        abortedBy: info === undefined ? null : s.peerRank(info.rank),
      });
      if (file && this.debug >= Level.INFO) debugLine(s.peerRank(s.rank), Level.INFO, `flight record written to ${file}`);
    } catch (e) {
      if (this.debug >= Level.INFO) debugLine(s.peerRank(s.rank), Level.INFO, `could not write the flight record: ${(e as Error).message}`);
    }
  }
}
