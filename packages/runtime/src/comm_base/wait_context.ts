import type { CallClock } from './call_clock.js';

/** What every wait of a call needs: its deadline, the abort check, and words for the timeout error. */
export interface WaitContext {
  readonly clock: CallClock;
  /** Throws if the communicator was aborted. */
  checkAbort(): void;
  /** The text of the timeout error: which rank did not do what. Runs only on failure. */
  late(peer: number, what: string, timeoutMs: number): string;
}
