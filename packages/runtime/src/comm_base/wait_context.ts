import type { CallClock } from './call_clock.js';

/** What every wait of a call needs: its deadline, the abort check, and words for the timeout error. */
export interface WaitContext {
  readonly clock: CallClock;
  /** Throws if the communicator was aborted. */
  checkAbort(): void;
  /** The text of the timeout error: which rank did not do what. Runs only on failure. */
  late(peer: number, what: string, timeoutMs: number): string;
}

/** How a phase of a communicator's life checks for an abort and names a late rank. */
export interface WaitHooks {
  checkAbort(): void;
  late(peer: number, what: string, timeoutMs: number): string;
}

/**
 * The wait context of one communicator, shared by its primitives and
 * connectors from setup on. Its hooks belong to a phase: setup's while the
 * ranks join, then the call protocol's (which hears net peers' aborts and
 * names the user's call) from the moment the protocol exists. The change
 * happens once, in beginCalls(), never by writing over the methods.
 */
export class CommWaitContext implements WaitContext {
  private hooks: WaitHooks;
  private calls = false;

  constructor(
    readonly clock: CallClock,
    setup: WaitHooks,
  ) {
    this.hooks = setup;
  }

  checkAbort(): void {
    this.hooks.checkAbort();
  }

  late(peer: number, what: string, timeoutMs: number): string {
    return this.hooks.late(peer, what, timeoutMs);
  }

  /** Setup is over: from now on waits use the call protocol's hooks. */
  beginCalls(hooks: WaitHooks): void {
    if (this.calls) throw new Error('beginCalls: the call protocol of this communicator exists already');
    this.calls = true;
    this.hooks = hooks;
  }
}
