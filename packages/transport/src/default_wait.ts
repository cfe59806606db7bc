import { fail } from './errors.js';
import { envSetting } from './platform.js';

/** Sets the deadline, in ms, of the waits below when their caller passes no timeoutMs. */
export const WAIT_TIMEOUT_ENV = 'COLLECTIVE_WAIT_TIMEOUT_MS';

/**
 * The deadline of a wait whose caller gave none: a fence wait (Fence,
 * SyncFile, Reservation, Device.free/move/close) or a completion wait
 * (CompletionQueue.wait, Counter.wait). What they wait for is another
 * thread's doing and nothing bounds it: a fence from Fence.create is
 * signalled by whoever created it, a completion by a peer. (A collective's
 * own fence ends with its call, whose deadline is 30 s by default.) 60 s
 * is far past anything that is merely slow, so only a wait for something
 * that will never come ends there, with an error that says what to do;
 * a caller that wants longer, or no deadline, passes timeoutMs (Infinity).
 */
export const DEFAULT_WAIT_MS = 60_000;

/** DEFAULT_WAIT_MS, or COLLECTIVE_WAIT_TIMEOUT_MS when set (read at each wait, so a thread started with it set has it). */
export function defaultWaitMs(): number {
  const raw = envSetting(WAIT_TIMEOUT_ENV);
  if (raw === undefined || raw === '') return DEFAULT_WAIT_MS;
  const n = Number(raw);
  if (!(n > 0)) fail('EINVAL', `${WAIT_TIMEOUT_ENV} must be a positive number of milliseconds (got ${raw})`);
  return n;
}

/** The end of an error message for a wait that a deadline ended. */
export const LONGER_WAIT_HINT = `pass a longer timeoutMs (${WAIT_TIMEOUT_ENV} sets the default, ${DEFAULT_WAIT_MS} ms)`;
