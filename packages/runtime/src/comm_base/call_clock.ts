/** The deadline of the call in progress; started only once somebody has to sleep. */
export interface CallClock {
  timeoutMs: number;
  /** performance.now() of the first long wait of the call, or 0 */
  start: number;
}

export function deadlineOf(clock: CallClock): number {
  if (clock.start === 0) clock.start = performance.now();
  return clock.start + clock.timeoutMs;
}
