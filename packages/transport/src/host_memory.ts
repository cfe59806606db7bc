import { fail } from './errors.js';
import { PAGE_SIZE } from './constants.js';
import { allocatePagesLocked, scrubAndFreePagesLocked } from './page_allocator.js';
import type { Pool } from './pool.js';

/** Page-table tag of host allocations: below every endpoint-mailbox tag. */
const HOST_TAG = -0x40000000;

/**
 * Host memory inside the pool, owned by no device: runtime control blocks
 * that every thread reaches through the pool alone (a communicator's flags
 * must exist before any message could carry a SharedArrayBuffer).
 */
export function allocateHost(pool: Pool, bytes: number): number {
  if (!Number.isSafeInteger(bytes) || bytes <= 0) fail('EINVAL', `host allocation size must be a positive integer (got ${bytes})`);
  const pages = Math.ceil(bytes / PAGE_SIZE);
  const first = pool.locked(() => allocatePagesLocked(pool, pages, HOST_TAG));
  pool.u8(first * PAGE_SIZE, pages * PAGE_SIZE).fill(0);
  return first * PAGE_SIZE;
}

export function freeHost(pool: Pool, offset: number, bytes: number): void {
  const first = offset / PAGE_SIZE;
  const pages = Math.ceil(bytes / PAGE_SIZE);
  pool.locked(() => {
    for (let p = first; p < first + pages; p++) {
      if (pool.ctl[pool.layout.pageTable + p] !== HOST_TAG) fail('EINVAL', `offset ${offset} is not a live host allocation of ${bytes} bytes`);
    }
    scrubAndFreePagesLocked(pool, first, pages);
  });
}
