import { fail } from '../errors.js';
import type { EndpointAddress } from './provider.js';

/** A tcp address must name the peer's listener (host, port) and its identity. */
function checkTcpAddress(a: EndpointAddress): void {
  const where = `tcp address ${JSON.stringify({ host: a.host, port: a.port, process: a.process })}`;
  if (typeof a.host !== 'string' || a.host.length === 0 || a.host.length > 45) fail('EINVAL', `${where}: host must be an IP address literal (expected endpoint.address from the peer)`);
  if (!Number.isInteger(a.port) || a.port! <= 0 || a.port! > 65535) fail('EINVAL', `${where}: port must be an integer in [1, 65535]`);
  if (typeof a.process !== 'string' || !/^[0-9]{1,10}\.[0-9a-f]{1,24}$/.test(a.process)) fail('EINVAL', `${where}: process must be the peer listener's identity '<pid>.<hex>'`);
  if (a.unix !== undefined && (typeof a.unix !== 'string' || a.unix.length > 63 || a.unix.includes('|'))) fail('EINVAL', `${where}: unix must be the peer's Unix socket path`);
  if (a.hostId !== undefined && (typeof a.hostId !== 'string' || a.hostId.length > 50 || a.hostId.includes('|'))) fail('EINVAL', `${where}: hostId must be the peer's host identity`);
}

/** fi_av: peer addresses by small integer (fi_addr_t). */
export class AddressVector {
  private readonly entries: (EndpointAddress | undefined)[] = [];
  bindings = 0;

  constructor(private readonly accept: (addr: EndpointAddress) => void) {}

  insert(address: EndpointAddress): number {
    if (!address || typeof address !== 'object' || !Number.isInteger(address.slot) || !Number.isInteger(address.gen) || typeof address.provider !== 'string') {
      fail('EINVAL', 'not an endpoint address (expected endpoint.address from the peer)');
    }
    if (typeof address.identity !== 'string' || !/^[0-9a-f]{32}$/.test(address.identity)) fail('EINVAL', `endpoint address identity must be the peer pool's identity, 32 hex digits (got ${JSON.stringify(address.identity)}); pass endpoint.address from the peer`);
    if (address.provider === 'tcp') checkTcpAddress(address);
    this.accept(address);
    this.entries.push({ ...address });
    return this.entries.length - 1;
  }

  lookup(fiAddr: number): EndpointAddress {
    const a = Number.isInteger(fiAddr) ? this.entries[fiAddr] : undefined;
    if (!a) fail('EINVAL', `fi_addr ${fiAddr} is not in the address vector; insert the peer's address first`);
    return a;
  }

  /** The fi_addr of an endpoint slot (of `process`, for providers that span processes), or undefined. */
  reverse(provider: string, slot: number, process?: string): number | undefined {
    const i = this.entries.findIndex((e) => e && e.provider === provider && e.slot === slot && (process === undefined || e.process === process));
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
