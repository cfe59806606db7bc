/** Timed batches per size and placement: the figure is their median (or the fastest, for the tuner). */
export const BATCHES = 5;

/** Untimed calls for about this long after the -w warm-up calls, per size and placement: caches and JIT settle. */
export const WARM_MS = 30;

/** JIT settling on a spread of sizes before the first timed size of a run. */
export const SETTLE_MS = 400;

/**
 * A row whose batches (leaving out the fastest and the slowest, which the
 * median already ignores) are this many times apart was measured on a busy
 * machine: its median is suspect and the row is flagged.
 */
export const NOISY_SPREAD = 2;

/** -n calls in batches whose sizes differ by one at most, so exactly -n calls are timed (nccl-tests' -n). */
export function batchSizes(iters: number): number[] {
  const k = Math.min(BATCHES, iters);
  return Array.from({ length: k }, (_, i) => Math.floor(iters / k) + (i < iters % k ? 1 : 0));
}

/** What one size and placement ran, as the header says it: -w and -n are nccl-tests', and the extra warm-up is named. */
export function describeTiming(iters: number, warmup: number, minTimeMs: number, stat: 'median' | 'min'): string {
  const calls = (n: number) => `${n} call${n === 1 ? '' : 's'}`;
  const timed = iters > 0 ? `${calls(iters)} timed (-n) in ${batchSizes(iters).length} batch${batchSizes(iters).length === 1 ? '' : 'es'}` : `timed calls for ~${minTimeMs} ms (-n 0; at least 5) in ${BATCHES} batches`;
  const figure = stat === 'min' ? 'the fastest batch' : 'the median batch';
  return `per size and placement: ${calls(warmup)} of warm-up (-w), ~${WARM_MS} ms more untimed, then ${timed}; time is ${figure} per call, of the slowest rank (the first size after ~${SETTLE_MS} ms of JIT settling)`;
}
