import { fail } from './errors.js';
import { BufferField, ExportField, ExportState, MrField } from './control_layout.js';
import { drainInflight } from './inflight_guard.js';
import { Attachment, type AttachOptions } from './attachment.js';
import { dropExportRefLocked, invalidateDynamicLocked } from './lifecycle.js';
import { notifyMoved } from './move_notifier.js';
import { tables } from './pool_tables.js';
import type { Pool } from './pool.js';
import { Reservation } from './reservation.js';

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
}

export function checkNotRevokedLocked(pool: Pool, slot: number): void {
  if (tables(pool).exports.get(slot, ExportField.STATE) === ExportState.REVOKED) {
    fail('EIO', 'dma-buf has been revoked by its exporter; unmap, detach and release it');
  }
}

/**
 * One counted reference to an exported buffer. The exporter gets one from
 * Device.export, importers from DmaBuf.import(handle) in any worker.
 */
export class DmaBuf {
  private released = false;

  private constructor(
    readonly pool: Pool,
    readonly handle: DmaBufHandle,
    readonly isExporter: boolean,
  ) {}

  /** @internal used by Device.export once its references are held */
  static fromExport(pool: Pool, handle: DmaBufHandle): DmaBuf {
    return new DmaBuf(pool, handle, true);
  }

  static import(pool: Pool, handle: DmaBufHandle): DmaBuf {
    pool.locked(() => {
      checkHandle(pool, handle);
      checkNotRevokedLocked(pool, handle.slot);
      tables(pool).exports.add(handle.slot, ExportField.REFS, 1);
    });
    return new DmaBuf(pool, { ...handle }, false);
  }

  get size(): number {
    return this.handle.size;
  }

  private checkHeld(): void {
    if (this.released) fail('EINVAL', 'dma-buf reference was already released');
  }

  get revoked(): boolean {
    return tables(this.pool).exports.get(this.handle.slot, ExportField.STATE) === ExportState.REVOKED;
  }

  /** Open CPU views of the underlying buffer, as counted by the exporter. */
  get cpuViews(): number {
    this.checkHeld();
    return tables(this.pool).buffers.get(this.bufferSlot, BufferField.CPU_VIEWS);
  }

  get bufferSlot(): number {
    return tables(this.pool).exports.get(this.handle.slot, ExportField.BUFFER);
  }

  reservation(): Reservation {
    this.checkHeld();
    const { buffers } = tables(this.pool);
    const slot = this.bufferSlot;
    return new Reservation(this.pool, slot, buffers.get(slot, BufferField.GEN));
  }

  attach(options: AttachOptions = {}): Attachment {
    this.checkHeld();
    return Attachment.create(this.pool, this.handle, options);
  }

  /**
   * Terminal: importers are invalidated now and every later map, attach or
   * registration fails; the memory stays until the last importer unmaps.
   */
  revoke(): void {
    this.checkHeld();
    if (!this.isExporter) fail('EPERM', 'only the exporter may revoke a dma-buf');
    const { exports } = tables(this.pool);
    const notified = this.pool.locked(() => {
      exports.set(this.handle.slot, ExportField.STATE, ExportState.REVOKED);
      return invalidateDynamicLocked(this.pool, (e) => e === this.handle.slot);
    });
    // RMA already past its checks may finish; nothing starts after this returns.
    const { mrs } = tables(this.pool);
    for (const m of mrs.liveSlots()) {
      if (mrs.get(m, MrField.EXPORT) === this.handle.slot) drainInflight(this.pool.ctl, mrs.addr(m, MrField.INFLIGHT));
    }
    notifyMoved(this.pool.id, notified);
  }

  release(): void {
    this.checkHeld();
    this.released = true;
    this.pool.locked(() => dropExportRefLocked(this.pool, this.handle.slot));
  }
}
