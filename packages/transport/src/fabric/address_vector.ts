import { fail } from '../errors.js';
import type { EndpointAddress } from './provider.js';

/** fi_av: peer addresses by small integer (fi_addr_t). */
export class AddressVector {
  private readonly entries: (EndpointAddress | undefined)[] = [];
  bindings = 0;

  constructor(private readonly accept: (addr: EndpointAddress) => void) {}

  insert(address: EndpointAddress): number {
    if (!address || typeof address !== 'object' || !Number.isInteger(address.slot) || !Number.isInteger(address.gen) || typeof address.provider !== 'string') {
      fail('EINVAL', 'not an endpoint address (expected endpoint.address from the peer)');
    }
    this.accept(address);
    this.entries.push({ ...address });
    return this.entries.length - 1;
  }

  lookup(fiAddr: number): EndpointAddress {
    const a = Number.isInteger(fiAddr) ? this.entries[fiAddr] : undefined;
    if (!a) fail('EINVAL', `fi_addr ${fiAddr} is not in the address vector; insert the peer's address first`);
    return a;
  }

  /** The fi_addr of an endpoint slot of this pool, or undefined. */
  reverse(provider: string, slot: number): number | undefined {
    const i = this.entries.findIndex((e) => e && e.provider === provider && e.slot === slot);
    return i < 0 ? undefined : i;
  }

  remove(fiAddr: number): void {
    this.lookup(fiAddr);
    this.entries[fiAddr] = undefined;
  }

  close(): void {
    if (this.bindings > 0) fail('EBUSY', `address vector is bound to ${this.bindings} open endpoint(s); close them first`);
  }
}
