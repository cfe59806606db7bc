import { PAGE_SIZE } from './constants.js';
import { fail } from './errors.js';
import { ExportField, ExportState } from './control_layout.js';
import { tables } from './pool_tables.js';
import type { Pool } from './pool.js';

/** A dma-buf as it crosses threads: a plain, structured-clone-safe object. */
export interface DmaBufHandle {
  kind: 'dmabuf';
  pool: number;
  slot: number;
  gen: number;
  size: number;
}

export function checkHandle(pool: Pool, handle: DmaBufHandle): void {
  if (!handle || typeof handle !== 'object' || handle.kind !== 'dmabuf' || !Number.isInteger(handle.slot) || !Number.isInteger(handle.gen)) {
    fail('EINVAL', 'not a dma-buf handle (expected the handle property of a DmaBuf)');
  }
  if (handle.pool !== pool.id) fail('EINVAL', `dma-buf handle belongs to another pool (pool ${handle.pool}, this is ${pool.id})`);
  if (!tables(pool).exports.isLive(handle.slot, handle.gen)) {
    fail('ENOENT', 'dma-buf handle is stale: every reference to it was released');
  }
  // The size travels in the handle for convenience only: what an importer may reach is the export's.
  const size = tables(pool).exports.get(handle.slot, ExportField.PAGES) * PAGE_SIZE;
  if (handle.size !== size) fail('EINVAL', `dma-buf handle says ${String(handle.size)} bytes but the export is ${size} bytes; pass the handle property of the DmaBuf unchanged`);
}

export function checkNotRevokedLocked(pool: Pool, slot: number): void {
  if (tables(pool).exports.get(slot, ExportField.STATE) === ExportState.REVOKED) {
    fail('EIO', 'dma-buf has been revoked by its exporter; unmap, detach and release it');
  }
}

/** Whether export `slot` is still usable: not revoked, and its exporter still holds it. */
export function exportUsable(pool: Pool, slot: number): boolean {
  const { exports } = tables(pool);
  return exports.get(slot, ExportField.STATE) === ExportState.LIVE && exports.get(slot, ExportField.EXPORTER_RELEASED) === 0;
}

