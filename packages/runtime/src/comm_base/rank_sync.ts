import { cpuCount } from '@collective/transport/runtime';
import { CollectiveError } from '../comm_errors.js';
import { deadlineOf } from './call_clock.js';
import { Hdr } from './comm_block.js';
import type { WaitContext } from './wait_context.js';

/**
 * Waiting on words of the shared block: spin while the ranks fit the
 * cores, then sleep on the futex. Every wait has a deadline and watches the
 * abort word, so a rank that never arrives yields an error, not a hang.
 */
export class RankSync {
  /**
   * How long to spin before sleeping. When every rank has a core, a long
   * spin matters: a sleeper's wake-up (tens to hundreds of µs) longer than
   * the peer's spin would make the peer sleep too, and the pair would then
   * pay a wake-up on every call. Oversubscribed ranks sleep almost at once.
   */
  readonly spinMs: number;
  /**
   * More ranks than cores: full synchronisations go through one arrival
   * counter. Waiting on each peer's word in turn would make a rank sleep and
   * wake once per late peer; with a counter it sleeps once, and the last
   * rank to arrive wakes everybody.
   */
  readonly central: boolean;

  /** the kernels' spin over a pool word (byte address), when the ranks share a pool */
  spinHi16: ((addr: number, want: number, spins: number) => number) | undefined;

  constructor(
    readonly words: Int32Array,
    nranks: number,
    /** ranks of the job on this machine, this communicator's or not: spinning is for when they all have a core */
    hostRanks = nranks,
  ) {
    this.spinMs = hostRanks <= cpuCount() ? 5 : 0;
    this.central = nranks > cpuCount();
  }

  /** Counts this rank in at `index`; the arrival that completes `target` wakes the sleepers. */
  arrive(index: number, target: number): void {
    if (((Atomics.add(this.words, index, 1) + 1 - target) | 0) >= 0) Atomics.notify(this.words, index);
  }

  /** Stores `value` and wakes sleepers, if any. */
  post(index: number, value: number): void {
    Atomics.store(this.words, index, value);
    if (Atomics.load(this.words, Hdr.SLEEPERS) > 0) Atomics.notify(this.words, index);
  }

  /**
   * Waits until the high 16 bits of arr[index] (a word of pool memory, an ll
   * flag) equal `seq16`; returns the word. Sleepers count in the block's
   * SLEEPERS like every other wait, so writers know to notify.
   */
  waitPoolWord(arr: Int32Array, index: number, seq16: number, ctx: WaitContext, peer: number, what: string): number {
    const first = this.spinHi16 ? this.spinHi16(index << 2, seq16, 1024) : Atomics.load(arr, index);
    if (first >>> 16 === seq16) return first;
    const w = this.words;
    if (this.spinMs > 0) {
      const until = performance.now() + this.spinMs;
      do {
        for (let i = 1024; i > 0; i--) {
          const v = Atomics.load(arr, index);
          if (v >>> 16 === seq16) return v;
        }
        if (Atomics.load(w, Hdr.ABORTED) !== 0) ctx.checkAbort();
      } while (performance.now() < until);
    }
    const deadline = deadlineOf(ctx.clock);
    for (;;) {
      const cur = Atomics.load(arr, index);
      if (cur >>> 16 === seq16) return cur;
      ctx.checkAbort();
      const left = deadline - performance.now();
      if (left <= 0) throw new CollectiveError('ETIMEDOUT', ctx.late(peer, what, ctx.clock.timeoutMs));
      Atomics.add(w, Hdr.SLEEPERS, 1);
      Atomics.wait(arr, index, cur, Math.min(left, 20));
      Atomics.sub(w, Hdr.SLEEPERS, 1);
    }
  }

  /** Stores `value` into a pool word and wakes its sleepers, if any. */
  postPoolWord(arr: Int32Array, index: number, value: number): void {
    Atomics.store(arr, index, value);
    if (Atomics.load(this.words, Hdr.SLEEPERS) > 0) Atomics.notify(arr, index);
  }

  /** Waits until words[index] - target >= 0 (wrap-safe). */
  waitFor(index: number, target: number, ctx: WaitContext, peer: number | (() => number), what: string): void {
    const w = this.words;
    for (let i = 256; i > 0; i--) {
      if (((Atomics.load(w, index) - target) | 0) >= 0) return;
    }
    if (this.spinMs > 0) {
      const until = performance.now() + this.spinMs;
      do {
        for (let i = 1024; i > 0; i--) {
          if (((Atomics.load(w, index) - target) | 0) >= 0) return;
        }
        if (Atomics.load(w, Hdr.ABORTED) !== 0) ctx.checkAbort();
      } while (performance.now() < until);
    }
    const deadline = deadlineOf(ctx.clock);
    for (;;) {
      const cur = Atomics.load(w, index);
      if (((cur - target) | 0) >= 0) return;
      ctx.checkAbort();
      const left = deadline - performance.now();
      if (left <= 0) throw new CollectiveError('ETIMEDOUT', ctx.late(typeof peer === 'number' ? peer : peer(), what, ctx.clock.timeoutMs));
      Atomics.add(w, Hdr.SLEEPERS, 1);
      Atomics.wait(w, index, cur, Math.min(left, 20));
      Atomics.sub(w, Hdr.SLEEPERS, 1);
    }
  }
}
