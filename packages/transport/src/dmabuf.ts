import { fail, type TransportError } from './errors.js';
import { checkHandle, checkNotRevokedLocked, type DmaBufHandle } from './dmabuf_handle.js';
import { BufferField, ExportField, ExportState, Header, MrField } from './control_layout.js';
import { drainInflight } from './inflight_guard.js';
import { Attachment, type AttachOptions } from './attachment.js';
import { dropExportRefLocked, invalidateDynamicLocked } from './lifecycle.js';
import { notifyMoved } from './move_notifier.js';
import { tables } from './pool_tables.js';
import type { Pool } from './pool.js';
import { Reservation, Usage } from './reservation.js';

/**
 * One counted reference to an exported buffer. The exporter gets one from
 * Device.export, importers from DmaBuf.import(handle) in any worker.
 */
/** How long revoke() waits for accesses in progress (a collective call's fence) by default. */
const REVOKE_WAIT_MS = 60_000;

export class DmaBuf {
  private released = false;
  /** attachments made through this reference: releasing it detaches them */
  private readonly attachments = new Set<Attachment>();

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
    const att = Attachment.create(this.pool, this.handle, options, (a) => this.attachments.delete(a));
    this.attachments.add(att);
    return att;
  }

  /**
   * Terminal, and for the memory rather than this handle alone: every
   * export of the buffer is revoked, importers are invalidated now, every
   * later map, attach, registration or collective on the buffer fails, and
   * the memory stays until the last importer unmaps.
   */
  revoke(options: { timeoutMs?: number } = {}): void {
    this.checkHeld();
    if (!this.isExporter) fail('EPERM', 'only the exporter may revoke a dma-buf');
    const timeoutMs = options.timeoutMs ?? REVOKE_WAIT_MS;
    if (!(timeoutMs >= 0)) fail('EINVAL', `options.timeoutMs must be a non-negative number of milliseconds (got ${String(timeoutMs)})`);
    const { exports, buffers } = tables(this.pool);
    const buffer = this.bufferSlot;
    this.waitForAccesses(buffer, timeoutMs);
    const revoked: number[] = [];
    const notified = this.pool.locked(() => {
      buffers.set(buffer, BufferField.REVOKED, 1);
      for (const e of exports.liveSlots()) {
        if (exports.get(e, ExportField.BUFFER) !== buffer) continue;
        exports.set(e, ExportField.STATE, ExportState.REVOKED);
        revoked.push(e);
      }
      Atomics.add(this.pool.ctl, Header.FREE_GEN, 1);
      return invalidateDynamicLocked(this.pool, (e) => revoked.includes(e));
    });
    // RMA already past its checks may finish; nothing starts after this returns.
    // Each drain is bounded (INFLIGHT_DRAIN_MS); a count still up then belongs
    // to a thread that died inside its guard and touches nothing again, so
    // the revoke goes on either way.
    const { mrs } = tables(this.pool);
    for (const m of mrs.liveSlots()) {
      if (revoked.includes(mrs.get(m, MrField.EXPORT))) drainInflight(this.pool.ctl, mrs.addr(m, MrField.INFLIGHT));
    }
    notifyMoved(this.pool.id, notified);
  }

  /**
   * Waits for the fences every access to the buffer publishes (dma-resv
   * implicit sync: a collective publishes one for each call), failed or
   * not. A stream's call on the buffer runs while the owner's thread is free
   * to revoke, and its shm peers reach the memory through mappings nothing
   * counts: without this wait they would go on reading and writing after
   * revoke() returned. A fence still pending at the deadline fails the
   * revoke with EBUSY and revokes nothing.
   */
  private waitForAccesses(buffer: number, timeoutMs: number): void {
    const resv = new Reservation(this.pool, buffer, tables(this.pool).buffers.get(buffer, BufferField.GEN));
    const end = performance.now() + timeoutMs;
    while (!resv.test(Usage.BOOKKEEP)) {
      const left = end - performance.now();
      try {
        resv.wait(Usage.BOOKKEEP, Math.max(0, left));
      } catch (e) {
        if ((e as TransportError).code !== 'ETIMEDOUT') continue; // an access that failed has ended too
        fail('EBUSY', `revoke: an access to the buffer (a collective call, or a fence someone published) has not finished within ${timeoutMs} ms; wait for it, or pass a longer options.timeoutMs`);
      }
    }
  }

  /**
   * Drops this reference. Attachments made through it are detached first
   * (their mappings unmapped, their CPU views ended), so nothing obtained
   * through a released handle can touch the memory afterwards.
   */
  release(): void {
    this.checkHeld();
    for (const att of [...this.attachments]) att.forceDetach();
    this.released = true;
    const { exports } = tables(this.pool);
    this.pool.locked(() => {
      if (this.isExporter) {
        exports.set(this.handle.slot, ExportField.EXPORTER_RELEASED, 1);
        Atomics.add(this.pool.ctl, Header.FREE_GEN, 1);
      }
      dropExportRefLocked(this.pool, this.handle.slot);
    });
  }
}
