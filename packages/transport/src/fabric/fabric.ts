import { fail } from '../errors.js';
import { DmaBuf } from '../dmabuf.js';
import type { Pool } from '../pool.js';
import { accessMask, type MrAccessName } from './access.js';
import { AddressVector } from './address_vector.js';
import { CompletionQueue } from './completion_queue.js';
import { Counter } from './counter.js';
import { Endpoint } from './endpoint.js';
import { selectProvider, providerFor } from './info.js';
import { MemoryRegion } from './memory_region.js';
import type { DomainImpl, FabricInfo } from './provider.js';

export interface RegisterOptions {
  access: MrAccessName[];
  offset?: number;
  length?: number;
  /** FI_MR_ENDPOINT: the region must be closed before this endpoint */
  endpoint?: Endpoint;
  /**
   * Peers reach only the byte ranges the owner opens with
   * mr.setRemoteWindow(), and nothing after mr.closeRemoteWindows(); the
   * windows are closed at registration. Default false: the whole region.
   */
  windowed?: boolean;
}

/** fi_fabric: a provider chosen from getInfo. */
export class Fabric {
  private constructor(readonly info: FabricInfo) {}

  static open(info: FabricInfo): Fabric {
    if (!info || typeof info.provider !== 'string') fail('EINVAL', 'Fabric.open takes an entry returned by getInfo()');
    providerFor(info.provider);
    return new Fabric(info);
  }

  domain(pool: Pool): Domain {
    return new Domain(this.info, providerFor(this.info.provider).openDomain(pool));
  }
}

/** fi_domain: owns CQs, counters, AVs, endpoints and memory registrations; closes last. */
export class Domain {
  private readonly endpoints = new Set<Endpoint>();
  private readonly mrs = new Set<MemoryRegion>();
  private closed = false;

  constructor(
    readonly info: FabricInfo,
    private readonly impl: DomainImpl,
  ) {}

  get pool(): Pool {
    return this.impl.pool;
  }

  private checkOpen(): void {
    if (this.closed) fail('EINVAL', 'domain is closed');
  }

  cq(options: { size?: number } = {}): CompletionQueue {
    this.checkOpen();
    const size = options.size ?? this.info.defaultCqSize;
    if (!Number.isSafeInteger(size) || size <= 0) fail('EINVAL', `options.size must be a positive integer (got ${size})`);
    return new CompletionQueue(size);
  }

  counter(): Counter {
    this.checkOpen();
    return new Counter();
  }

  av(): AddressVector {
    this.checkOpen();
    const self = { provider: this.info.provider, pool: this.pool.id, identity: this.pool.identity, slot: -1, gen: 0 };
    return new AddressVector((addr) => void selectProvider(self, addr));
  }

  endpoint(): Endpoint {
    this.checkOpen();
    const ep = new Endpoint(this.impl.openEndpoint(), (e) => this.endpoints.delete(e));
    this.endpoints.add(ep);
    return ep;
  }

  /** fi_mr_regattr with FI_MR_DMABUF: pins the dma-buf for the region's life. */
  registerDmaBuf(dmabuf: DmaBuf, options: RegisterOptions): MemoryRegion {
    this.checkOpen();
    if (!(dmabuf instanceof DmaBuf)) fail('EINVAL', 'registerDmaBuf takes a DmaBuf (export or import it first)');
    if (!options || typeof options !== 'object') fail('EINVAL', 'registerDmaBuf needs options with an access list');
    const access = accessMask(options.access);
    const offset = options.offset ?? 0;
    const length = options.length ?? dmabuf.size - offset;
    if (!Number.isSafeInteger(offset) || offset < 0) fail('EINVAL', `options.offset must be a non-negative integer (got ${offset})`);
    if (!Number.isSafeInteger(length) || length < 0) fail('EINVAL', `options.length must be a non-negative integer (got ${length})`);
    if (offset + length > dmabuf.size) fail('EINVAL', `region [${offset}, ${offset + length}) exceeds the ${dmabuf.size}-byte dma-buf`);
    if (options.endpoint && !this.endpoints.has(options.endpoint)) fail('EINVAL', 'options.endpoint must be an open endpoint of this domain');
    const windowed = options.windowed ?? false;
    if (typeof windowed !== 'boolean') fail('EINVAL', `options.windowed must be a boolean (got ${String(windowed)})`);
    const mr = new MemoryRegion(this.impl.registerDmaBuf(dmabuf, offset, length, access, windowed), (m) => this.mrs.delete(m));
    this.mrs.add(mr);
    options.endpoint?.boundMrs.add(mr);
    return mr;
  }

  close(): void {
    this.checkOpen();
    if (this.mrs.size > 0 || this.endpoints.size > 0) {
      fail('EBUSY', `domain still has ${this.mrs.size} memory region(s) and ${this.endpoints.size} endpoint(s) open; close them first`);
    }
    this.closed = true;
  }
}
