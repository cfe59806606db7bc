import { fail } from '../errors.js';
import type { MrImpl } from './provider.js';

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

  close(): void {
    if (!this.open) fail('EINVAL', 'memory region is already closed');
    this.impl.close();
    this.open = false;
    this.onClose(this);
  }
}
