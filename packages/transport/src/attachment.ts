import { fail } from './errors.js';
import { isPageMultiple, PAGE_SIZE } from './constants.js';
import { AttachField, BufferField, ExportField, ExportState } from './control_layout.js';
import { checkHandle, checkNotRevokedLocked, type DmaBufHandle } from './dmabuf_handle.js';
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

/** Mappings are issued only by Attachment.map; this token keeps the constructor private to this module. */
const ISSUE = Symbol('issue');

export class Mapping {
  private isUnmapped = false;
  /** CPU views opened on this mapping and not yet ended */
  readonly views = new Set<CpuView>();

  constructor(
    issue: symbol,
    readonly attachment: Attachment,
    readonly segments: readonly Segment[],
    readonly epoch: number,
    /** offset of this mapping inside the dma-buf */
    readonly offset: number,
    readonly length: number,
  ) {
    if (issue !== ISSUE) fail('EINVAL', 'mappings are issued by Attachment.map()');
  }

  get unmapped(): boolean {
    return this.isUnmapped;
  }

  /** @internal */
  markUnmapped(): void {
    this.isUnmapped = true;
  }
}

/**
 * CPU access to mapped memory, bracketed like DMA_BUF_IOCTL_SYNC: begin
 * copies the range into a private buffer, end writes back the bytes the
 * CPU changed and detaches the private buffer. So a view dies with its
 * handle: after end() (or the unmap, detach or release that ends it) its
 * bytes are a detached, zero-length array, never a window onto pages that
 * may belong to someone else by then.
 */
export class CpuView {
  private ended = false;
  private readonly copy: Uint8Array;
  private readonly shadow: Uint8Array;

  constructor(
    issue: symbol,
    private readonly pool: Pool,
    private readonly mapping: Mapping,
    private readonly bufferSlot: number,
    private readonly bufferGen: number,
    private readonly exportSlot: number,
    private readonly poolOffset: number,
    length: number,
  ) {
    if (issue !== ISSUE) fail('EINVAL', 'CPU views are issued by Attachment.beginCpuAccess()');
    this.copy = new Uint8Array(length);
    this.copy.set(pool.u8(poolOffset, length));
    this.shadow = this.copy.slice();
  }

  /** The CPU's copy of the range; zero-length once the view has ended. */
  get bytes(): Uint8Array {
    return this.copy;
  }

  get isEnded(): boolean {
    return this.ended;
  }

  /**
   * Writes back what the CPU changed and ends access. If the exporter
   * revoked or moved the memory meanwhile, the writes are discarded and
   * end() says so (EIO) instead of landing on pages that are not the view's.
   */
  end(): void {
    if (this.ended) fail('EINVAL', 'CPU view already ended');
    this.ended = true;
    this.mapping.views.delete(this);
    const { buffers } = tables(this.pool);
    const lost = this.pool.locked(() => {
      const live = buffers.isLive(this.bufferSlot, this.bufferGen);
      const valid = live && !exportRevoked(this.pool, this.exportSlot) && buffers.get(this.bufferSlot, BufferField.EPOCH) === this.mapping.epoch;
      const changed = valid ? writeBackChanged(this.pool.u8(this.poolOffset, this.copy.length), this.copy, this.shadow) : differs(this.copy, this.shadow);
      if (live) buffers.add(this.bufferSlot, BufferField.CPU_VIEWS, -1);
      return !valid && changed;
    });
    detach(this.copy);
    detach(this.shadow);
    if (lost) fail('EIO', 'the dma-buf was revoked or moved while this CPU view was open; its writes were discarded');
  }
}

/** The exporter letting go does not end an importer's own access; only a revoke does. */
function exportRevoked(pool: Pool, exportSlot: number): boolean {
  return tables(pool).exports.get(exportSlot, ExportField.STATE) === ExportState.REVOKED;
}

/** Copies into `dst` the bytes where `copy` differs from `shadow`; true if any did. */
function writeBackChanged(dst: Uint8Array, copy: Uint8Array, shadow: Uint8Array): boolean {
  let changed = false;
  const n = copy.length;
  const words = n >>> 2;
  const c32 = new Int32Array(copy.buffer, copy.byteOffset, words);
  const s32 = new Int32Array(shadow.buffer, shadow.byteOffset, words);
  for (let w = 0; w < words; w++) {
    if (c32[w] !== s32[w]) {
      changed = true;
      for (let b = w * 4; b < w * 4 + 4; b++) dst[b] = copy[b]!;
    }
  }
  for (let b = words * 4; b < n; b++) {
    if (copy[b] !== shadow[b]) {
      changed = true;
      dst[b] = copy[b]!;
    }
  }
  return changed;
}

function differs(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return true;
  return false;
}

function detach(a: Uint8Array): void {
  structuredClone(a.buffer, { transfer: [a.buffer as ArrayBuffer] });
}

/**
 * An importer's attachment. Static ones are pinned while mapped; dynamic
 * ones may pin explicitly and are otherwise subject to moves.
 */
export class Attachment {
  private detached = false;
  private readonly mappings = new Set<Mapping>();

  private constructor(
    readonly pool: Pool,
    readonly dmabuf: DmaBufHandle,
    readonly slot: number,
    readonly gen: number,
    readonly dynamic: boolean,
    private readonly onDetached: (a: Attachment) => void,
  ) {}

  /** @internal made by DmaBuf.attach */
  static create(pool: Pool, handle: DmaBufHandle, options: AttachOptions, onDetached: (a: Attachment) => void = () => {}): Attachment {
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
    return new Attachment(pool, handle, rec.slot, rec.gen, dynamic, onDetached);
  }

  get isDetached(): boolean {
    return this.detached;
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
      const m = new Mapping(ISSUE, this, [segment], buffers.get(b, BufferField.EPOCH), offset, length);
      this.mappings.add(m);
      return m;
    });
  }

  /** Unmaps; CPU views still open on the mapping are ended first. */
  unmap(mapping: Mapping): void {
    this.checkAttached();
    if (!(mapping instanceof Mapping) || mapping.attachment !== this) fail('EINVAL', 'mapping was not issued by this attachment');
    if (mapping.unmapped) fail('EINVAL', 'mapping is already unmapped');
    let lost: unknown;
    for (const v of [...mapping.views]) {
      try {
        v.end();
      } catch (e) {
        lost ??= e;
      }
    }
    const { attachments, buffers, exports } = tables(this.pool);
    this.pool.locked(() => {
      mapping.markUnmapped();
      this.mappings.delete(mapping);
      if (!this.dynamic) buffers.add(this.bufferSlot, BufferField.PINS, -1);
      attachments.add(this.slot, AttachField.MAPS, -1);
      exports.add(this.dmabuf.slot, ExportField.MAPS, -1);
    });
    if (lost) throw lost;
  }

  /** @internal unmaps everything, unpins and detaches: what releasing the dma-buf reference implies. */
  forceDetach(): void {
    if (this.detached) return;
    for (const m of [...this.mappings]) {
      try {
        this.unmap(m);
      } catch {
        // Writes lost to a revoke were already refused; release still completes.
      }
    }
    if (this.pinned) this.unpin();
    this.detach();
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

  /** CPU access to mapped memory, counted by the exporter until end(). */
  beginCpuAccess(mapping: Mapping): CpuView {
    const { buffers } = tables(this.pool);
    const b = this.pool.locked(() => {
      const slot = this.validate(mapping);
      buffers.add(slot, BufferField.CPU_VIEWS, 1);
      return slot;
    });
    // The count keeps the pages from moving and the import keeps them alive, so the copy needs no lock.
    const seg = mapping.segments[0]!;
    const view = new CpuView(ISSUE, this.pool, mapping, b, buffers.get(b, BufferField.GEN), this.dmabuf.slot, seg.offset, seg.length);
    mapping.views.add(view);
    return view;
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
    this.onDetached(this);
  }
}
