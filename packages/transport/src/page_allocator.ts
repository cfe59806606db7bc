import { fail } from './errors.js';
import { PAGE_SIZE, RESERVED_BYTES } from './constants.js';
import type { Pool } from './pool.js';

const FIRST_PAGE = RESERVED_BYTES / PAGE_SIZE;

/**
 * First-fit allocation of contiguous 4 KiB pages; a page's word holds a
 * non-zero owner tag (buffer slot + 1, or a negative tag for host memory
 * such as endpoint mailboxes). Contiguity lets a mapping be one segment and a
 * kernel run over it without gathers. Caller holds the pool lock.
 */
export function allocatePagesLocked(pool: Pool, pages: number, owner: number): number {
  const { ctl, layout } = pool;
  const base = layout.pageTable;
  let run = 0;
  for (let p = FIRST_PAGE; p < layout.pages; p++) {
    if (ctl[base + p] === 0) {
      run++;
      if (run === pages) {
        const first = p - pages + 1;
        ctl.fill(owner, base + first, base + first + pages);
        return first;
      }
    } else {
      run = 0;
    }
  }
  fail('ENOMEM', `no ${pages * PAGE_SIZE}-byte contiguous range left in the ${pool.bytes}-byte pool; free buffers or create the pool with a larger options.bytes`);
}

/** Zeroes then returns pages, so the next owner never sees old contents. */
export function scrubAndFreePagesLocked(pool: Pool, first: number, pages: number): void {
  pool.u8(first * PAGE_SIZE, pages * PAGE_SIZE).fill(0);
  pool.ctl.fill(0, pool.layout.pageTable + first, pool.layout.pageTable + first + pages);
}
