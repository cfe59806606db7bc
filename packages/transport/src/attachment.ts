import { fail } from './errors.js';
import { isPageMultiple, PAGE_SIZE } from './constants.js';
import { AttachField, BufferField, ExportField } from './control_layout.js';
import { checkHandle, checkNotRevokedLocked, type DmaBufHandle } from './dmabuf.js';
import { dropExportRefLocked } from './lifecycle.js';
import { listenForMoves, stopListening } from './move_notifier.js';
import { tables } from './pool_tables.js';
import type { Pool } from './pool.js';

export interface AttachOptions {
  /** A dynamic importer tolerates moves and may pin; it must handle invalidateMappings. */
  dynamic?: boolean;
  invalidateMappings?: () => void;
}

/** A run of pool memory issued by the exporter; `space` names the address space. */
export interface Segment {
  offset: number;
  length: number;
  space: string;
}

export interface MapRange {
  offset?: number;
  length?: number;
}

export class Mapping {
  unmapped = false;
  constructor(
    readonly attachment: Attachment,
    readonly segments: readonly Segment[],
    readonly epoch: number,
    /** offset of this mapping inside the dma-buf */
    readonly offset: number,
    readonly length: number,
  ) {}
}

export class CpuView {
  private ended = false;
  constructor(
    private readonly pool: Pool,
    private readonly bufferSlot: number,
    readonly bytes: Uint8Array,
  ) {}

  end(): void {
    if (this.ended) fail('EINVAL', 'CPU view already ended');
    this.ended = true;
    tables(this.pool).buffers.add(this.bufferSlot, BufferField.CPU_VIEWS, -1);
  }
}

/**
 * An importer's attachment. Static ones are pinned while mapped; dynamic
 * ones may pin explicitly and are otherwise subject to moves.
 */
export class Attachment {
  private detached = false;

  private constructor(
    readonly pool: Pool,
    readonly dmabuf: DmaBufHandle,
    readonly slot: number,
    readonly gen: number,
    readonly dynamic: boolean,
  ) {}

  static create(pool: Pool, handle: DmaBufHandle, options: AttachOptions): Attachment {
    const dynamic = options.dynamic ?? false;
    if (typeof dynamic !== 'boolean') fail('EINVAL', 'options.dynamic must be a boolean');
    if (dynamic && typeof options.invalidateMappings !== 'function') {
      fail('EINVAL', 'options.invalidateMappings must be a function for a dynamic attachment (the exporter calls it when it moves the memory)');
    }
    if (!dynamic && options.invalidateMappings !== undefined) {
      fail('EINVAL', 'options.invalidateMappings is only for dynamic attachments; pass dynamic: true');
    }
    const { attachments, exports } = tables(pool);
    const rec = pool.locked(() => {
      checkHandle(pool, handle);
      checkNotRevokedLocked(pool, handle.slot);
      const r = attachments.claimLocked(1) ?? fail('ENOMEM', `all ${attachments.capacity} attachment records are in use; detach some first`);
      attachments.set(r.slot, AttachField.EXPORT, handle.slot);
      attachments.set(r.slot, AttachField.DYNAMIC, dynamic ? 1 : 0);
      exports.add(handle.slot, ExportField.REFS, 1);
      return r;
    });
    if (dynamic) listenForMoves(pool.id, rec.slot, rec.gen, options.invalidateMappings!);
    return new Attachment(pool, handle, rec.slot, rec.gen, dynamic);
  }

  private checkAttached(): void {
    if (this.detached) fail('EINVAL', 'attachment is detached; attach again to map');
  }

  get pinned(): boolean {
    return tables(this.pool).attachments.get(this.slot, AttachField.PINNED) === 1;
  }

  /** True once the exporter moved or revoked the memory since the last map. */
  get invalidated(): boolean {
    return tables(this.pool).attachments.get(this.slot, AttachField.INVALIDATED) === 1;
  }

  private get bufferSlot(): number {
    return tables(this.pool).exports.get(this.dmabuf.slot, ExportField.BUFFER);
  }

  pin(): void {
    this.checkAttached();
    if (!this.dynamic) fail('EPERM', 'only a dynamic attachment may pin; a static attachment is pinned while it is mapped');
    const { attachments, buffers } = tables(this.pool);
    this.pool.locked(() => {
      checkNotRevokedLocked(this.pool, this.dmabuf.slot);
      if (attachments.get(this.slot, AttachField.PINNED) === 1) fail('EINVAL', 'attachment is already pinned');
      attachments.set(this.slot, AttachField.PINNED, 1);
      buffers.add(this.bufferSlot, BufferField.PINS, 1);
    });
  }

  unpin(): void {
    this.checkAttached();
    const { attachments, buffers } = tables(this.pool);
    this.pool.locked(() => {
      if (attachments.get(this.slot, AttachField.PINNED) !== 1) fail('EINVAL', 'attachment is not pinned');
      attachments.set(this.slot, AttachField.PINNED, 0);
      buffers.add(this.bufferSlot, BufferField.PINS, -1);
    });
  }

  map(range: MapRange = {}): Mapping {
    this.checkAttached();
    const offset = range.offset ?? 0;
    const length = range.length ?? this.dmabuf.size - offset;
    if (!isPageMultiple(offset) || !isPageMultiple(length) || length === 0) {
      fail('EINVAL', `map range offset and length must be page multiples (${PAGE_SIZE}) with length > 0 (got ${offset}, ${length})`);
    }
    if (offset + length > this.dmabuf.size) {
      fail('EINVAL', `map range [${offset}, ${offset + length}) exceeds the ${this.dmabuf.size}-byte dma-buf`);
    }
    const { attachments, buffers, exports } = tables(this.pool);
    return this.pool.locked(() => {
      checkNotRevokedLocked(this.pool, this.dmabuf.slot);
      const b = this.bufferSlot;
      if (!this.dynamic) buffers.add(b, BufferField.PINS, 1);
      attachments.add(this.slot, AttachField.MAPS, 1);
      exports.add(this.dmabuf.slot, ExportField.MAPS, 1);
      attachments.set(this.slot, AttachField.INVALIDATED, 0);
      const base = (buffers.get(b, BufferField.FIRST_PAGE) + exports.get(this.dmabuf.slot, ExportField.OFFSET_PAGES)) * PAGE_SIZE;
      const segment: Segment = { offset: base + offset, length, space: `shm:${this.pool.id}` };
      return new Mapping(this, [segment], buffers.get(b, BufferField.EPOCH), offset, length);
    });
  }

  unmap(mapping: Mapping): void {
    this.checkAttached();
    if (!(mapping instanceof Mapping) || mapping.attachment !== this) fail('EINVAL', 'mapping was not issued by this attachment');
    if (mapping.unmapped) fail('EINVAL', 'mapping is already unmapped');
    const { attachments, buffers, exports } = tables(this.pool);
    this.pool.locked(() => {
      mapping.unmapped = true;
      if (!this.dynamic) buffers.add(this.bufferSlot, BufferField.PINS, -1);
      attachments.add(this.slot, AttachField.MAPS, -1);
      exports.add(this.dmabuf.slot, ExportField.MAPS, -1);
    });
  }

  /** Checks a mapping is still current; returns the buffer slot it maps. */
  validate(mapping: Mapping): number {
    this.checkAttached();
    if (!(mapping instanceof Mapping) || mapping.attachment !== this) fail('EINVAL', 'mapping was not issued by this attachment');
    if (mapping.unmapped) fail('EINVAL', 'mapping was unmapped; map again');
    checkNotRevokedLocked(this.pool, this.dmabuf.slot);
    const b = this.bufferSlot;
    if (tables(this.pool).buffers.get(b, BufferField.EPOCH) !== mapping.epoch) {
      fail('ESTALE', 'mapping is stale: the exporter moved the buffer; unmap it and map again');
    }
    return b;
  }

  /** A CPU view of mapped memory, counted by the exporter until end(). */
  beginCpuAccess(mapping: Mapping): CpuView {
    const { buffers } = tables(this.pool);
    return this.pool.locked(() => {
      const b = this.validate(mapping);
      buffers.add(b, BufferField.CPU_VIEWS, 1);
      const seg = mapping.segments[0]!;
      return new CpuView(this.pool, b, this.pool.u8(seg.offset, seg.length));
    });
  }

  detach(): void {
    this.checkAttached();
    const { attachments } = tables(this.pool);
    this.pool.locked(() => {
      const maps = attachments.get(this.slot, AttachField.MAPS);
      if (maps > 0) fail('EBUSY', `attachment still has ${maps} mapping(s); unmap them before detaching`);
      if (attachments.get(this.slot, AttachField.PINNED) === 1) fail('EBUSY', 'attachment is pinned; unpin it before detaching');
      attachments.freeLocked(this.slot);
      dropExportRefLocked(this.pool, this.dmabuf.slot);
    });
    this.detached = true;
    if (this.dynamic) stopListening(this.pool.id, this.slot, this.gen);
  }
}
