import { fail } from '../errors.js';
import { MrAccess } from './access.js';
import type { MrImpl } from './provider.js';

/** The accesses a remote window is opened for. */
export type RemoteAccessName = 'remoteRead' | 'remoteWrite';

/** fi_mr: a registered dma-buf range; `key` goes to peers, the object itself is the local desc. */
export class MemoryRegion {
  private open = true;

  constructor(
    readonly impl: MrImpl,
    private readonly onClose: (mr: MemoryRegion) => void,
  ) {}

  get key(): number {
    return this.impl.key;
  }

  get length(): number {
    return this.impl.length;
  }

  get isOpen(): boolean {
    return this.open;
  }

  /** Registered with `windowed: true`: peers reach only what setRemoteWindow opened. */
  get windowed(): boolean {
    return this.impl.windowed;
  }

  /**
   * Lets peers reach bytes [offset, offset + length) of the region for
   * `access` (and no others), until the next call for that access or
   * closeRemoteWindows(). Only for regions registered `windowed`.
   */
  setRemoteWindow(access: RemoteAccessName, offset: number, length: number): void {
    this.checkWindowed();
    if (access !== 'remoteRead' && access !== 'remoteWrite') fail('EINVAL', `access must be 'remoteRead' or 'remoteWrite' (got ${String(access)})`);
    if ((this.impl.access & MrAccess[access]) === 0) fail('EINVAL', `memory region was registered without ${access} access; a window cannot add it`);
    if (!Number.isSafeInteger(offset) || offset < 0 || offset > this.length) fail('EINVAL', `offset must be a non-negative integer within the region (got ${offset}; the region has ${this.length} bytes)`);
    if (!Number.isSafeInteger(length) || length < 0 || offset + length > this.length) {
      fail('EINVAL', `length must be a non-negative integer that ends within the region (got ${length} at offset ${offset}; the region has ${this.length} bytes)`);
    }
    this.impl.setRemoteWindow(MrAccess[access], offset, length);
  }

  /** Peers reach nothing of the region until a window is opened again. */
  closeRemoteWindows(): void {
    this.checkWindowed();
    this.impl.closeRemoteWindows();
  }

  private checkWindowed(): void {
    if (!this.open) fail('EINVAL', 'memory region is closed');
    if (!this.impl.windowed) fail('EINVAL', 'memory region was registered without windowed: true, so peers reach all of it; register it with { windowed: true } to use windows');
  }

  close(): void {
    if (!this.open) fail('EINVAL', 'memory region is already closed');
    this.impl.close();
    this.open = false;
    this.onClose(this);
  }
}
