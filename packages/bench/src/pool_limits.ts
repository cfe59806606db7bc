import { TransportError } from '@collective/transport';
import { formatBytes, type SizeLimit } from './sizes.js';

/** The transport's pool is one WebAssembly.Memory of at most 2 GiB. */
export const MAX_POOL_BYTES = 2 * 1024 * 1024 * 1024;

const roundPool = (bytes: number) => Math.ceil(bytes / 65536) * 65536;
const pages = (bytes: number) => Math.ceil(bytes / 4096) * 4096;

/** Pool for a collective sweep: send and receive buffer per device, scratch, endpoints, slack. */
export function collectivePoolBytes(devices: number, maxBytes: number, joined = false): number {
  // Per device: send and recv buffers, plus the communicator's scratch and net staging (about 5 MiB).
  // Across processes, hierarchical calls add a reorder scratch as large again, and two children with scratch of their own.
  return roundPool(devices * ((joined ? 3 : 2) * pages(maxBytes) + (joined ? 18 : 6) * 1024 * 1024) + 32 * 1024 * 1024);
}

/** Pool for the kernel benchmark: a destination and `sources` inputs, plus tables. */
export function kernelPoolBytes(bytes: number, sources: number): number {
  return roundPool((sources + 2) * bytes + (4 << 20));
}

/** Pool for the RMA benchmark: one buffer per device, plus endpoints. */
export function rmaPoolBytes(bytes: number): number {
  return roundPool(2 * Math.max(bytes, 4096) + (8 << 20));
}

/**
 * The largest size, in whole MiB (or KiB below 1 MiB), whose pool fits; a
 * search rather than an inverted formula, so it always agrees with `poolFor`.
 */
function largestFitting(poolFor: (bytes: number) => number): number {
  for (const unit of [1024 * 1024, 1024]) {
    let lo = 0;
    let hi = MAX_POOL_BYTES / unit;
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      if (poolFor(mid * unit) <= MAX_POOL_BYTES) lo = mid;
      else hi = mid - 1;
    }
    if (lo > 0) return lo * unit;
  }
  return 0;
}

const WHY = 'the device pool holds at most 2G';

export function collectiveSizeLimit(devices: number): SizeLimit {
  return { max: largestFitting((b) => collectivePoolBytes(devices, b)), why: `with ${devices} device(s): ${WHY}` };
}

export function kernelSizeLimit(sources: number): SizeLimit {
  return { max: largestFitting((b) => kernelPoolBytes(b, sources)), why: `with ${sources} source(s): ${WHY}` };
}

export function rmaSizeLimit(): SizeLimit {
  return { max: largestFitting(rmaPoolBytes), why: `between two devices: ${WHY}` };
}

/** For callers of the library API, who passed a number rather than typed text. */
export function checkFits(what: string, bytes: number, limit: SizeLimit): void {
  if (bytes > limit.max) throw new TransportError('EINVAL', `${what} must be at most ${formatBytes(limit.max)} ${limit.why} (got ${formatBytes(bytes)})`);
}
