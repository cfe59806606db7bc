import { DTYPE_BYTES, type Dtype } from '@collective/runtime';
import { TransportError } from '@collective/transport';
import { type CollectiveName, SPECS } from './collectives.js';
import { formatBytes } from './sizes.js';

/** The sizes of a sweep one dtype can run, and those below the collective's minimum. */
export interface DtypeSweep {
  dtype: Dtype;
  /** the smallest non-zero size that holds a call: one element, or one per device for split buffers */
  minBytes: number;
  sizes: number[];
  skipped: number[];
}

/**
 * Splits the sweep per dtype on `devices` devices. A size below one element
 * (one per device where the buffer is split between ranks) cannot be run;
 * 0 can (an empty call). A sweep that leaves no dtype a size is refused:
 * a table with no rows would say nothing was wrong about nothing.
 */
export function planSweep(collective: CollectiveName, sizes: readonly number[], dtypes: readonly Dtype[], devices: number): DtypeSweep[] {
  const split = SPECS[collective].perRankBlocks;
  const plan = dtypes.map((dtype) => {
    const minBytes = DTYPE_BYTES[dtype] * (split ? devices : 1);
    return { dtype, minBytes, sizes: sizes.filter((s) => s === 0 || s >= minBytes), skipped: sizes.filter((s) => s > 0 && s < minBytes) };
  });
  if (plan.every((p) => p.sizes.length === 0)) {
    const [lo, hi] = [Math.min(...sizes), Math.max(...sizes)];
    const range = lo === hi ? `${formatBytes(lo)} B` : `${formatBytes(lo)} … ${formatBytes(hi)} B`;
    const needs = plan.map((p) => `${formatBytes(p.minBytes)} B for ${p.dtype}`).join(', ');
    throw new TransportError('EINVAL', `no size of the sweep (${range}) can run ${collective}${split ? ` on ${devices} devices (one element per device)` : ''}: it needs at least ${needs}; raise -e (and -b)`);
  }
  return plan;
}

/** The header's line for sizes a dtype skips, or undefined when it skips none. */
export function describeSkipped(collective: CollectiveName, p: DtypeSweep, devices: number): string | undefined {
  if (p.skipped.length === 0) return undefined;
  const why = SPECS[collective].perRankBlocks ? `one ${p.dtype} element per device on ${devices} devices` : `one ${p.dtype} element`;
  return `skipped ${p.skipped.map(formatBytes).join(', ')} B for ${p.dtype}: below ${collective}'s minimum of ${formatBytes(p.minBytes)} B (${why})`;
}
