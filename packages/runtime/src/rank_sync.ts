import { availableParallelism } from 'node:os';
import { CollectiveError } from './comm_errors.js';
import { Hdr } from './comm_layout.js';

/** The deadline of the call in progress; started only once somebody has to sleep. */
export interface CallClock {
  timeoutMs: number;
  /** performance.now() of the first long wait of the call, or 0 */
  start: number;
}

/**
 * Waiting on peers' words: spin while the world fits the cores, then sleep
 * on the futex. Every wait has a deadline and watches the abort word, so a
 * rank that never arrives yields an error, not a hang.
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

  constructor(
    readonly words: Int32Array,
    readonly nranks: number,
  ) {
    const fits = nranks <= availableParallelism();
    this.spinMs = fits ? 5 : 0;
    this.central = !fits;
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
   * Waits until words[index] - target >= 0 (wrap-safe). `late` names what
   * is late for the error message; it runs only on failure.
   */
  waitFor(index: number, target: number, clock: CallClock, late: (timeoutMs: number) => string): void {
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
      } while (performance.now() < until);
    }
    if (clock.start === 0) clock.start = performance.now();
    const deadline = clock.start + clock.timeoutMs;
    for (;;) {
      const cur = Atomics.load(w, index);
      if (((cur - target) | 0) >= 0) return;
      const aborted = Atomics.load(w, Hdr.ABORTED);
      if (aborted !== 0) throw new CollectiveError('ECANCELED', `${late(clock.timeoutMs).replace(/ did not .*/, '')}: the communicator was aborted by rank ${aborted - 1}`);
      const left = deadline - performance.now();
      if (left <= 0) throw new CollectiveError('ETIMEDOUT', late(clock.timeoutMs));
      Atomics.add(w, Hdr.SLEEPERS, 1);
      Atomics.wait(w, index, cur, Math.min(left, 20));
      Atomics.sub(w, Hdr.SLEEPERS, 1);
    }
  }
}
