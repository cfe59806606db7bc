import { Fence, mayBlockAt, type Pool, reservationAt, Usage, usageFor } from '@collective/transport';

/** From this size a collective publishes fences on its buffers while it runs. */
export const FENCE_MIN_BYTES = 256 * 1024;
const NO_FENCES: readonly Fence[] = [];
const READ_WAITS = usageFor('read');
const WRITE_WAITS = usageFor('write');

/**
 * Honours KERNEL/WRITE fences on a collective's buffers before it touches
 * them (the input is read, the output written), and for large calls adds
 * the collective's own fences, which the caller signals when it is done.
 * Small calls skip publishing: they finish within the call, and the cost of
 * two locked fence operations would dominate them.
 */
export function fenceBuffers(pool: Pool, send: number, sendBytes: number, recv: number, recvBytes: number, timeoutMs: number): readonly Fence[] {
  if (sendBytes > 0 && mayBlockAt(pool, send, READ_WAITS)) reservationAt(pool, send)!.wait(READ_WAITS, timeoutMs);
  if (recvBytes > 0 && mayBlockAt(pool, recv, WRITE_WAITS)) reservationAt(pool, recv)!.wait(WRITE_WAITS, timeoutMs);
  if (Math.max(sendBytes, recvBytes) < FENCE_MIN_BYTES) return NO_FENCES;
  const out: Fence[] = [];
  const sendResv = sendBytes > 0 ? reservationAt(pool, send) : undefined;
  const recvResv = recvBytes > 0 ? reservationAt(pool, recv) : undefined;
  if (recvResv) {
    const f = Fence.create(pool);
    recvResv.add(f, Usage.WRITE);
    out.push(f);
  }
  if (sendResv && sendResv.bufferSlot !== recvResv?.bufferSlot) {
    const f = Fence.create(pool);
    sendResv.add(f, Usage.READ);
    out.push(f);
  }
  return out;
}
