/** Up to this many bytes a byte loop beats the runtime call behind copyWithin. */
const SMALL_COPY_BYTES = 64;

/** memmove inside the pool's memory. */
export function poolCopy(mem: Uint8Array, dst: number, src: number, bytes: number): void {
  if (bytes <= 0 || dst === src) return;
  if (bytes <= SMALL_COPY_BYTES && (dst >= src + bytes || src >= dst + bytes)) {
    for (let i = 0; i < bytes; i++) mem[dst + i] = mem[src + i]!;
    return;
  }
  mem.copyWithin(dst, src, src + bytes);
}
