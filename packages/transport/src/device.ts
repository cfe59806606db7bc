import { defaultWaitMs } from './default_wait.js';
import { fail } from './errors.js';
import { isPageMultiple, PAGE_SIZE } from './constants.js';
import { BufferField, DeviceField, DeviceState, ExportField, ExportState, Header } from './control_layout.js';
import { DmaBuf } from './dmabuf.js';
import { dropDeviceRefLocked, finalizeBufferIfUnusedLocked, invalidateDynamicLocked } from './lifecycle.js';
import { notifyMoved } from './move_notifier.js';
import { allocatePagesLocked, scrubAndFreePagesLocked } from './page_allocator.js';
import { tables } from './pool_tables.js';
import { randomFill } from './platform.js';
import type { Pool } from './pool.js';
import { Reservation, Usage } from './reservation.js';

/** Memory a device owns; its offset can change when the device moves it. */
export class DeviceBuffer {
  constructor(
    readonly device: Device,
    readonly slot: number,
    readonly gen: number,
    readonly size: number,
  ) {}

  /** Byte offset in the pool; re-read after a move. */
  get offset(): number {
    return tables(this.device.pool).buffers.get(this.slot, BufferField.FIRST_PAGE) * PAGE_SIZE;
  }
}

/**
 * The slot of the single live (not owner-freed, unless `includeFreed`)
 * buffer holding every byte of [offset, offset + bytes), or -1.
 * Allocation-free, for hot paths.
 */
export function bufferSlotOfRange(pool: Pool, offset: number, bytes: number, includeFreed = false): number {
  const ctl = pool.ctl;
  const { pageTable, pages, buffers } = pool.layout;
  const first = (offset / PAGE_SIZE) | 0;
  const last = ((offset + (bytes > 0 ? bytes : 1) - 1) / PAGE_SIZE) | 0;
  if (offset < 0 || last >= pages) return -1;
  // Plain reads: a word never tears, and only this range's owner frees it.
  const tag = ctl[pageTable + first]!;
  if (tag <= 0 || ctl[pageTable + last] !== tag) return -1;
  // Buffers are contiguous: equal tags at both ends mean one buffer spans the range.
  const rec = buffers + (tag - 1) * BufferField.SIZE;
  return includeFreed || ctl[rec + BufferField.OWNER_FREED] === 0 ? tag - 1 : -1;
}

export interface ExportOptions {
  offset?: number;
  size?: number;
}

export interface WaitOptions {
  timeoutMs?: number;
}

/**
 * A device opened by exactly one owner. Its buffers live in the shared
 * pool; exporting one takes a reference on the device context, which keeps
 * the device held (and unopenable) after close until the export dies.
 */
export class Device {
  private closed = false;

  private constructor(
    readonly pool: Pool,
    readonly index: number,
    readonly token: number,
    /** a handle of the owner's communication stream, not the owner's own */
    readonly isStream = false,
  ) {}

  /**
   * Lets this device's communication stream (a thread that runs the
   * device's collectives while the owner computes, like a CUDA stream)
   * open it with Device.openStream. Returns the grant to hand to that
   * thread; a new grant replaces the old, and close() withdraws it.
   */
  grantStream(): number {
    this.checkOpen();
    const grant = randomGrant();
    this.pool.locked(() => tables(this.pool).devices.set(this.index, DeviceField.STREAM_GRANT, grant));
    return grant;
  }

  /**
   * The device as its communication stream sees it: the same memory and
   * buffers, so a communicator on the stream registers the owner's
   * buffers as its own. The handle lives only while its owner keeps the
   * device open (every use checks), and it cannot close the device: its
   * close() only ends the handle.
   */
  static openStream(pool: Pool, index: number, grant: number): Device {
    const { devices } = tables(pool);
    if (!Number.isInteger(index) || index < 0 || index >= devices.capacity) {
      fail('EINVAL', `device index must be an integer in [0, ${devices.capacity}) (got ${index})`);
    }
    const token = pool.locked(() => {
      if (devices.get(index, DeviceField.STATE) !== DeviceState.OPEN) fail('ENOENT', `device ${index} is not open; its owner opens it and grants the stream`);
      if (!Number.isInteger(grant) || grant === 0 || devices.get(index, DeviceField.STREAM_GRANT) !== grant) {
        fail('EACCES', `device ${index}: the grant does not match; the owner's device.grantStream() issues it`);
      }
      return devices.get(index, DeviceField.OWNER);
    });
    return new Device(pool, index, token, true);
  }

  static open(pool: Pool, index: number): Device {
    const { devices } = tables(pool);
    if (!Number.isInteger(index) || index < 0 || index >= devices.capacity) {
      fail('EINVAL', `device index must be an integer in [0, ${devices.capacity}) (got ${index})`);
    }
    const token = pool.nextToken();
    pool.locked(() => {
      const state = devices.get(index, DeviceField.STATE);
      if (state === DeviceState.OPEN) fail('EBUSY', `device ${index} is already open by another owner; close it there first`);
      if (state === DeviceState.HELD) {
        const exports = devices.get(index, DeviceField.REFS);
        fail('EBUSY', `device ${index} is still held by ${exports} live export(s) of its previous owner; importers must release them first`);
      }
      devices.set(index, DeviceField.OWNER, token);
      devices.set(index, DeviceField.REFS, 1);
      devices.set(index, DeviceField.GEN, devices.get(index, DeviceField.GEN) + 1);
      devices.set(index, DeviceField.STATE, DeviceState.OPEN);
    });
    return new Device(pool, index, token);
  }

  get isOpen(): boolean {
    return !this.closed && (!this.isStream || this.ownerStillHolds());
  }

  /** A stream handle is the owner's for as long as the owner keeps this very opening of the device. */
  private ownerStillHolds(): boolean {
    const { devices } = tables(this.pool);
    return devices.get(this.index, DeviceField.STATE) === DeviceState.OPEN && devices.get(this.index, DeviceField.OWNER) === this.token;
  }

  private checkOpen(): void {
    if (this.closed) fail('EINVAL', `device ${this.index} is closed; open it again to use it`);
    if (this.isStream && !this.ownerStillHolds()) fail('EINVAL', `device ${this.index} was closed by its owner; its stream handle is dead`);
  }

  private checkBuffer(buf: DeviceBuffer): void {
    this.checkOpen();
    if (!(buf instanceof DeviceBuffer) || buf.device !== this) fail('EINVAL', `buffer does not belong to device ${this.index}`);
    const { buffers } = tables(this.pool);
    if (!buffers.isLive(buf.slot, buf.gen) || buffers.get(buf.slot, BufferField.OWNER_FREED) !== 0) {
      fail('EINVAL', 'buffer has been freed');
    }
    // A handle built by hand for another device's slot must not pass for ours.
    if (buffers.get(buf.slot, BufferField.DEVICE) !== this.index) fail('EINVAL', `buffer does not belong to device ${this.index}`);
  }

  /**
   * The live buffer of this device holding every byte of `view` (a typed
   * array over the pool's memory), so code handed a view can export or
   * fence the memory behind it. Fails for memory that is not this device's.
   */
  bufferOf(view: ArrayBufferView): DeviceBuffer {
    this.checkOpen();
    if (!ArrayBuffer.isView(view) || view.buffer !== this.pool.memory.buffer) {
      fail('EINVAL', 'view is not over this pool\'s device memory; allocate it with device.allocate()');
    }
    const slot = bufferSlotOfRange(this.pool, view.byteOffset, view.byteLength);
    const { buffers } = tables(this.pool);
    if (slot < 0 || buffers.get(slot, BufferField.DEVICE) !== this.index) {
      fail('EINVAL', `view [${view.byteOffset}, ${view.byteOffset + view.byteLength}) is not inside one live buffer of device ${this.index}`);
    }
    return new DeviceBuffer(this, slot, buffers.get(slot, BufferField.GEN), buffers.get(slot, BufferField.PAGES) * PAGE_SIZE);
  }

  allocate(size: number): DeviceBuffer {
    this.checkOpen();
    if (!isPageMultiple(size) || size === 0) {
      fail('EINVAL', `size must be a positive multiple of ${PAGE_SIZE} bytes (got ${size}); round it up to whole pages`);
    }
    const { buffers } = tables(this.pool);
    const pages = size / PAGE_SIZE;
    const rec = this.pool.locked(() => {
      const r = buffers.claimLocked(1) ?? fail('ENOMEM', `all ${buffers.capacity} buffer records are in use; free buffers first`);
      try {
        buffers.set(r.slot, BufferField.FIRST_PAGE, allocatePagesLocked(this.pool, pages, r.slot + 1));
      } catch (e) {
        buffers.freeLocked(r.slot);
        throw e;
      }
      buffers.set(r.slot, BufferField.DEVICE, this.index);
      buffers.set(r.slot, BufferField.PAGES, pages);
      return r;
    });
    return new DeviceBuffer(this, rec.slot, rec.gen, size);
  }

  /** The owner's own CPU view. It goes stale when the buffer is moved. */
  view(buf: DeviceBuffer): Uint8Array {
    this.checkBuffer(buf);
    return this.pool.u8(buf.offset, buf.size);
  }

  reservation(buf: DeviceBuffer): Reservation {
    this.checkBuffer(buf);
    return new Reservation(this.pool, buf.slot, buf.gen);
  }

  /**
   * Frees once every fence on the buffer has signalled (waiting up to
   * options.timeoutMs, default COLLECTIVE_WAIT_TIMEOUT_MS, 60 s: a fence
   * nobody signals must not make free() hang for ever); exports keep the
   * pages alive until released, and their pages are scrubbed before anyone
   * else gets them.
   */
  free(buf: DeviceBuffer, options: WaitOptions = {}): void {
    this.checkBuffer(buf);
    this.reservation(buf).wait(Usage.BOOKKEEP, options.timeoutMs ?? defaultWaitMs());
    this.pool.locked(() => {
      tables(this.pool).buffers.set(buf.slot, BufferField.OWNER_FREED, 1);
      Atomics.add(this.pool.ctl, Header.FREE_GEN, 1);
      finalizeBufferIfUnusedLocked(this.pool, buf.slot);
    });
  }

  export(buf: DeviceBuffer, options: ExportOptions = {}): DmaBuf {
    this.checkBuffer(buf);
    const offset = options.offset ?? 0;
    const size = options.size ?? buf.size - offset;
    if (!isPageMultiple(offset)) fail('EINVAL', `options.offset must be a multiple of ${PAGE_SIZE} (got ${offset})`);
    if (!isPageMultiple(size) || size === 0) fail('EINVAL', `options.size must be a positive multiple of ${PAGE_SIZE} (got ${size})`);
    if (offset + size > buf.size) fail('EINVAL', `export range [${offset}, ${offset + size}) exceeds the ${buf.size}-byte buffer`);
    const { exports, buffers, devices } = tables(this.pool);
    const rec = this.pool.locked(() => {
      if (buffers.get(buf.slot, BufferField.REVOKED) !== 0) fail('EIO', 'buffer was revoked: an export of it was revoked, so it is cut off from every importer; allocate a new buffer to share');
      const r = exports.claimLocked(ExportState.LIVE) ?? fail('ENOMEM', `all ${exports.capacity} export records are in use; release dma-bufs first`);
      // Take every reference before the handle exists: nobody can import
      // an export whose buffer or device context might still go away.
      buffers.add(buf.slot, BufferField.EXPORTS, 1);
      devices.add(this.index, DeviceField.REFS, 1);
      exports.set(r.slot, ExportField.BUFFER, buf.slot);
      exports.set(r.slot, ExportField.OFFSET_PAGES, offset / PAGE_SIZE);
      exports.set(r.slot, ExportField.PAGES, size / PAGE_SIZE);
      exports.set(r.slot, ExportField.REFS, 1);
      return r;
    });
    return DmaBuf.fromExport(this.pool, { kind: 'dmabuf', pool: this.pool.id, slot: rec.slot, gen: rec.gen, size });
  }

  /**
   * Moves an unpinned buffer to other pages (defragmentation, eviction).
   * Every dynamic attachment is told through invalidateMappings and must
   * map again; mappings issued before the move are refused as stale.
   * Waits first for every fence on the buffer, up to options.timeoutMs
   * (default COLLECTIVE_WAIT_TIMEOUT_MS, 60 s, as free()).
   */
  move(buf: DeviceBuffer, options: WaitOptions = {}): void {
    this.checkBuffer(buf);
    this.reservation(buf).wait(Usage.BOOKKEEP, options.timeoutMs ?? defaultWaitMs());
    const { buffers, exports } = tables(this.pool);
    const notified = this.pool.locked(() => {
      const pins = buffers.get(buf.slot, BufferField.PINS);
      if (pins > 0) fail('EBUSY', `buffer is pinned by ${pins} attachment(s); importers must unpin (or unmap static mappings), and communicators deregister it, before it can move`);
      const views = buffers.get(buf.slot, BufferField.CPU_VIEWS);
      if (views > 0) fail('EBUSY', `buffer has ${views} CPU view(s) open; end them before moving`);
      const pages = buffers.get(buf.slot, BufferField.PAGES);
      const oldFirst = buffers.get(buf.slot, BufferField.FIRST_PAGE);
      const newFirst = allocatePagesLocked(this.pool, pages, buf.slot + 1);
      const mem = new Uint8Array(this.pool.memory.buffer);
      mem.copyWithin(newFirst * PAGE_SIZE, oldFirst * PAGE_SIZE, (oldFirst + pages) * PAGE_SIZE);
      scrubAndFreePagesLocked(this.pool, oldFirst, pages);
      buffers.set(buf.slot, BufferField.FIRST_PAGE, newFirst);
      buffers.add(buf.slot, BufferField.EPOCH, 1);
      return invalidateDynamicLocked(this.pool, (e) => exports.get(e, ExportField.BUFFER) === buf.slot);
    });
    notifyMoved(this.pool.id, notified);
  }

  /**
   * Gives the device up. Buffers without exports are scrubbed and freed
   * now; exported ones live on, holding the device, until released. Each
   * buffer's fences are waited for first, as by free(): up to
   * options.timeoutMs per buffer (default COLLECTIVE_WAIT_TIMEOUT_MS, 60 s).
   */
  close(options: WaitOptions = {}): void {
    if (this.isStream) {
      // The stream gives up its handle; the device and its buffers stay the owner's.
      this.closed = true;
      return;
    }
    this.checkOpen();
    const { buffers, devices } = tables(this.pool);
    const mine = [...buffers.liveSlots()].filter(
      (s) => buffers.get(s, BufferField.DEVICE) === this.index && buffers.get(s, BufferField.OWNER_FREED) === 0,
    );
    for (const s of mine) {
      new Reservation(this.pool, s, buffers.get(s, BufferField.GEN)).wait(Usage.BOOKKEEP, options.timeoutMs ?? defaultWaitMs());
    }
    this.pool.locked(() => {
      if (mine.length > 0) Atomics.add(this.pool.ctl, Header.FREE_GEN, 1);
      for (const s of mine) {
        buffers.set(s, BufferField.OWNER_FREED, 1);
        finalizeBufferIfUnusedLocked(this.pool, s);
      }
      if (devices.get(this.index, DeviceField.OWNER) === this.token) {
        devices.set(this.index, DeviceField.STREAM_GRANT, 0);
        devices.set(this.index, DeviceField.STATE, DeviceState.HELD);
        dropDeviceRefLocked(this.pool, this.index);
      }
    });
    this.closed = true;
  }
}

/** A uniformly random grant in [1, 2^31 - 1). */
function randomGrant(): number {
  const w = new Uint32Array(1);
  for (;;) {
    randomFill(w);
    const v = w[0]! >>> 1;
    if (v !== 0 && v !== 0x7fffffff) return v;
  }
}
