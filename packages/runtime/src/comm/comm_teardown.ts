import { freeHost } from '@collective/transport/runtime';
import { Hdr } from '../comm_base/comm_block.js';
import type { CommState } from './comm_state.js';

/**
 * ncclCommDestroy's work on one rank. What peers may still reach goes
 * last: registrations and the scratch export are released only if every
 * peer of a failed call has left it; otherwise they stay held (pages never
 * reused) rather than risk a late write landing on someone else's memory.
 */
export function teardownComm(s: CommState, undrained: boolean): void {
  if (Atomics.load(s.words, Hdr.ABORTED) !== 0) s.port?.abandon();
  for (const c of s.connectors) c?.close();
  s.imports.close();
  for (const d of s.scratchImports) d.release();
  if (!undrained) {
    s.regs.closeAll();
    s.port?.close();
    s.privExport?.release();
    s.scratchExport.release();
    // Peers that still map the scratch keep its pages alive until they let go.
    if (s.device.isOpen) {
      s.device.free(s.scratchBuf);
      s.device.free(s.privBuf);
      s.device.free(s.internalBuf);
    }
  }
  if (Atomics.add(s.words, Hdr.LEFT, 1) + 1 === s.words[Hdr.MEMBERS]) {
    const bytes = s.words[Hdr.BYTES]!;
    Atomics.store(s.words, Hdr.MAGIC, 0);
    freeHost(s.pool, s.id.offset, bytes);
  }
}
