import { fail } from '../../errors.js';
import type { Attachment, Mapping } from '../../attachment.js';
import { MrField, MrState } from '../../control_layout.js';
import { DmaBuf } from '../../dmabuf.js';
import { drainInflight } from '../../inflight_guard.js';
import { drawTag, makeKey, storedTag, storeTag } from '../../mr_key.js';
import { closeWindows, initWindows, setWindow } from '../../mr_window.js';
import { tables } from '../../pool_tables.js';
import type { Pool } from '../../pool.js';
import type { MrImpl } from '../../fabric/provider.js';

/**
 * FI_MR_DMABUF for shm: a pinned dynamic attachment of the dma-buf whose
 * mapping is published in the pool's MR table, so initiators in any
 * thread can check key, range and access and copy straight into it.
 */
export class ShmMemoryRegion implements MrImpl {
  private closed = false;

  private constructor(
    readonly pool: Pool,
    readonly slot: number,
    readonly key: number,
    readonly length: number,
    readonly access: number,
    readonly windowed: boolean,
    private readonly attachment: Attachment,
    private readonly mapping: Mapping,
    /** the region's own reference to the export (fi_mr_regattr takes one on the dma-buf) */
    private readonly ref: DmaBuf,
  ) {}

  static register(pool: Pool, domainToken: number, dmabuf: DmaBuf, offset: number, length: number, access: number, windowed: boolean): ShmMemoryRegion {
    const { mrs } = tables(pool);
    // The region holds its own reference, as an RDMA MR holds the dma-buf
    // file: the caller may release its reference (which detaches the
    // caller's attachments) and the owner may free the buffer, but the pages
    // stay the region's until it closes, never the next owner's.
    const ref = DmaBuf.import(pool, dmabuf.handle);
    let attachment: Attachment;
    try {
      attachment = ref.attach({ dynamic: true, invalidateMappings: () => {} });
    } catch (e) {
      ref.release();
      throw e;
    }
    // The pin keeps the exporter from moving the pages for the MR's life.
    let mapping: Mapping;
    try {
      attachment.pin();
      const first = Math.floor(offset / 4096) * 4096;
      const end = Math.ceil((offset + length) / 4096) * 4096;
      mapping = attachment.map({ offset: first, length: Math.max(end - first, 4096) });
    } catch (e) {
      if (attachment.pinned) attachment.unpin();
      attachment.detach();
      ref.release();
      throw e;
    }
    const segment = mapping.segments[0]!;
    const start = segment.offset + (offset - mapping.offset);
    const rec = pool.locked(() => {
      // The record's last tag, read before the claim clears it: the new key must differ from the old one.
      let previous = 0;
      // The in-flight count is kept: a thread that entered the old region's guard just before this
      // (and will find its key stale) leaves it after, and must not drive the new region's below 0.
      const r = mrs.claimLocked(
        MrState.LIVE,
        (s, slot) => {
          if (s === MrState.LIVE) return false;
          previous = storedTag(mrs, slot);
          return true;
        },
        MrField.INFLIGHT,
      );
      if (!r) return undefined;
      const tag = drawTag(mrs.capacity, previous);
      storeTag(mrs, r.slot, tag);
      mrs.set(r.slot, MrField.OFFSET, start);
      mrs.set(r.slot, MrField.LENGTH, length);
      mrs.set(r.slot, MrField.ACCESS, access);
      mrs.set(r.slot, MrField.EXPORT, dmabuf.handle.slot);
      mrs.set(r.slot, MrField.DOMAIN, domainToken);
      initWindows(mrs, r.slot, windowed);
      return { slot: r.slot, key: makeKey(tag, mrs.capacity, r.slot) };
    });
    if (!rec) {
      attachment.unmap(mapping);
      attachment.unpin();
      attachment.detach();
      ref.release();
      fail('ENOMEM', `all ${mrs.capacity} memory-region records are in use; close some MRs first`);
    }
    return new ShmMemoryRegion(pool, rec.slot, rec.key, length, access, windowed, attachment, mapping, ref);
  }

  /** Pool byte offset of the region's first byte. */
  get offset(): number {
    return tables(this.pool).mrs.get(this.slot, MrField.OFFSET);
  }

  setRemoteWindow(need: number, offset: number, length: number): void {
    setWindow(tables(this.pool).mrs, this.slot, need, offset, length);
  }

  closeRemoteWindows(): void {
    closeWindows(tables(this.pool).mrs, this.slot);
  }

  close(): void {
    if (this.closed) fail('EINVAL', 'memory region is already closed');
    this.closed = true;
    const { mrs } = tables(this.pool);
    // CLOSED keeps the key recognisable, so late RMA gets ECANCELED, not a silent miss.
    mrs.set(this.slot, MrField.STATE, MrState.CLOSED);
    // Bounded (INFLIGHT_DRAIN_MS). False means a thread died inside its guard:
    // it touches the memory no more, so closing goes on either way.
    drainInflight(this.pool.ctl, mrs.addr(this.slot, MrField.INFLIGHT));
    // After a revoke the mapping is already gone: each step that has nothing left to undo is skipped, and the reference always goes.
    try {
      this.attachment.unmap(this.mapping);
    } catch {
      // revoked or invalidated: nothing mapped any more
    }
    try {
      if (this.attachment.pinned) this.attachment.unpin();
      this.attachment.detach();
    } finally {
      this.ref.release();
    }
  }
}
