import { CollectiveError } from '../comm_errors.js';
import { S, State, type StreamBlock } from './stream_block.js';
import type { WorkSource } from './work.js';

/** Spins on DONE this long before sleeping: a small call on an idle stream finishes within it. */
const SPIN_MS = 0.05;
/** Sleep slice: the stream's death is noticed this often. */
export const WAIT_SLICE_MS = 20;

/**
 * How the device thread learns that its stream's calls finished, and how
 * each ended: the stream's progress and statuses in the shared block, and
 * the outcomes of failed calls whose ring slots were since reused.
 */
export class StreamWaits implements WorkSource {
  private readonly w: Int32Array;
  /** failures of slots since reused: seq → error */
  private readonly failures = new Map<number, Error>();

  constructor(
    private readonly block: StreamBlock,
    private readonly rank: number,
  ) {
    this.w = block.words;
  }

  finished(seq: number): boolean {
    return Atomics.load(this.w, S.DONE) >= seq || Atomics.load(this.w, S.DEAD) !== 0;
  }

  errorOf(seq: number): Error | undefined {
    if (Atomics.load(this.w, S.DONE) < seq) return Atomics.load(this.w, S.DEAD) !== 0 ? this.deadError() : undefined;
    if (this.block.statusSeq(seq) === seq) {
      if (this.block.statusState(seq) === State.OK) return undefined;
      const m = this.block.message(seq);
      return new CollectiveError(m.code, m.message);
    }
    return this.failures.get(seq);
  }

  /** Keeps how call `seq` ended, if it failed: its ring slot is about to take a new call. */
  retire(seq: number): void {
    const err = this.errorOf(seq);
    if (err) this.failures.set(seq, err);
  }

  /** ncclCommGetAsyncError: the error that made the stream's communicator unusable, if any. */
  asyncError(): Error | undefined {
    const a = this.block.asyncError();
    if (a) return new CollectiveError(a.code, a.message);
    if (Atomics.load(this.w, S.DEAD) !== 0) return this.deadError();
    return undefined;
  }

  deadError(): Error {
    return new CollectiveError('EIO', `the communication stream of rank ${this.rank} is gone (its thread died or could not start); calls it had not finished are lost`);
  }

  waitFor(seq: number, timeoutMs: number): void {
    this.awaitFinished(seq, timeoutMs);
    const e = this.errorOf(seq);
    if (e) throw e;
  }

  /** Bounded as awaitFinished: by the calls' own deadlines, or the stream's death (DEAD). */
  async finishedAsync(seq: number): Promise<void> {
    const w = this.w;
    for (;;) {
      if (this.finished(seq)) return;
      const cur = Atomics.load(w, S.DONE);
      Atomics.add(w, S.WAITERS, 1);
      try {
        if (this.finished(seq)) return;
        // Atomics.waitAsync leaves the event loop free while the stream works.
        const r = waitAsync(w, S.DONE, cur, WAIT_SLICE_MS);
        if (r.async) await r.value;
      } finally {
        Atomics.sub(w, S.WAITERS, 1);
      }
    }
  }

  /**
   * Waits until call `seq` finished or the stream died. With timeoutMs
   * Infinity it is still bounded: the stream runs one call at a time, each
   * ends at its own deadline (its timeoutMs, or the communicator's), and a
   * stream thread that dies sets DEAD (StreamThreads, from its exit).
   */
  awaitFinished(seq: number, timeoutMs: number): void {
    const w = this.w;
    if (this.finished(seq)) return;
    const start = performance.now();
    const spinUntil = start + SPIN_MS;
    while (performance.now() < spinUntil) if (this.finished(seq)) return;
    const deadline = start + timeoutMs;
    Atomics.add(w, S.WAITERS, 1);
    try {
      for (;;) {
        const cur = Atomics.load(w, S.DONE);
        if (cur >= seq || Atomics.load(w, S.DEAD) !== 0) return;
        const left = deadline - performance.now();
        if (left <= 0) {
          // HEAD is the last call this thread issued (only this thread writes it).
          const queued = w[S.HEAD]! - cur;
          throw new CollectiveError('ETIMEDOUT', `call #${seq} on the stream of rank ${this.rank} has not finished within ${timeoutMs} ms (${queued} call(s) still queued or running); it goes on: wait again or synchronize()`);
        }
        Atomics.wait(w, S.DONE, cur, Math.min(left, WAIT_SLICE_MS));
      }
    } finally {
      Atomics.sub(w, S.WAITERS, 1);
    }
  }
}

/** Atomics.waitAsync (Node 16+), typed here: the TypeScript lib this build targets predates it. */
const waitAsync = (Atomics as unknown as { waitAsync(a: Int32Array, i: number, v: number, t: number): { async: boolean; value: Promise<string> | string } }).waitAsync;
