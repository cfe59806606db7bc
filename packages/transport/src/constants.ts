/** dma-buf sizes and offsets are expressed in CPU pages. */
export const PAGE_SIZE = 4096;

/** WebAssembly pages are 64 KiB; the pool's size is a multiple of this. */
export const WASM_PAGE_SIZE = 65536;

/**
 * The first WASM page of the pool never backs a buffer: offset 0 stays
 * invalid (catches uninitialised offsets) and kernels get scratch space.
 */
export const RESERVED_BYTES = WASM_PAGE_SIZE;

export function isPageMultiple(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 0 && n % PAGE_SIZE === 0;
}
