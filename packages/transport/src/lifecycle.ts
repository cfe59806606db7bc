import { AttachField, BufferField, DeviceField, DeviceState, ExportField, ResvField } from './control_layout.js';
import { scrubAndFreePagesLocked } from './page_allocator.js';
import { resvEntry, tables } from './pool_tables.js';
import type { Pool } from './pool.js';

/**
 * The reference cascade of the memory model, all under the pool lock:
 * an export holds its buffer and its device's context; a buffer's pages
 * are scrubbed and returned only when its owner freed it and no export is
 * left; a device slot opens for a new owner only when its owner closed it
 * and no export is left.
 */

export function dropDeviceRefLocked(pool: Pool, deviceSlot: number): void {
  const { devices } = tables(pool);
  if (devices.add(deviceSlot, DeviceField.REFS, -1) === 0) {
    devices.set(deviceSlot, DeviceField.OWNER, 0);
    devices.set(deviceSlot, DeviceField.STATE, DeviceState.FREE);
  }
}

export function finalizeBufferIfUnusedLocked(pool: Pool, bufferSlot: number): boolean {
  const { buffers } = tables(pool);
  if (buffers.get(bufferSlot, BufferField.OWNER_FREED) === 0) return false;
  if (buffers.get(bufferSlot, BufferField.EXPORTS) !== 0) return false;
  scrubAndFreePagesLocked(pool, buffers.get(bufferSlot, BufferField.FIRST_PAGE), buffers.get(bufferSlot, BufferField.PAGES));
  const first = resvEntry(pool, bufferSlot, 0);
  pool.ctl.fill(0, first, first + pool.layout.caps.fencesPerBuffer * ResvField.SIZE);
  buffers.freeLocked(bufferSlot);
  return true;
}

export function dropExportRefLocked(pool: Pool, exportSlot: number): void {
  const { exports, buffers } = tables(pool);
  if (exports.add(exportSlot, ExportField.REFS, -1) !== 0) return;
  const bufferSlot = exports.get(exportSlot, ExportField.BUFFER);
  const deviceSlot = buffers.get(bufferSlot, BufferField.DEVICE);
  exports.freeLocked(exportSlot);
  buffers.add(bufferSlot, BufferField.EXPORTS, -1);
  finalizeBufferIfUnusedLocked(pool, bufferSlot);
  dropDeviceRefLocked(pool, deviceSlot);
}

/**
 * Marks every dynamic attachment of the exports `hit` selects as
 * invalidated (pool lock held) and returns them, for invalidateMappings.
 */
export function invalidateDynamicLocked(pool: Pool, hit: (exportSlot: number) => boolean): { slot: number; gen: number }[] {
  const { attachments } = tables(pool);
  const out: { slot: number; gen: number }[] = [];
  for (const a of attachments.liveSlots()) {
    if (attachments.get(a, AttachField.DYNAMIC) === 1 && hit(attachments.get(a, AttachField.EXPORT))) {
      attachments.set(a, AttachField.INVALIDATED, 1);
      out.push({ slot: a, gen: attachments.get(a, AttachField.GEN) });
    }
  }
  return out;
}
