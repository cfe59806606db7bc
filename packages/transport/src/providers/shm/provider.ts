import type { DmaBuf } from '../../dmabuf.js';
import type { Pool } from '../../pool.js';
import type { DomainImpl, EndpointAddress, FabricInfo, MrImpl, Provider } from '../../fabric/provider.js';
import { ShmEndpoint } from './endpoint.js';
import { MAX_PAYLOAD, SLOTS } from './mailbox.js';
import { ShmMemoryRegion } from './memory_region.js';

class ShmDomain implements DomainImpl {
  readonly token: number;
  constructor(readonly pool: Pool) {
    this.token = pool.nextToken();
  }

  openEndpoint(): ShmEndpoint {
    return ShmEndpoint.open(this.pool, this.token);
  }

  registerDmaBuf(dmabuf: DmaBuf, offset: number, length: number, access: number, windowed: boolean): MrImpl {
    return ShmMemoryRegion.register(this.pool, this.token, dmabuf, offset, length, access, windowed);
  }
}

/** Worker threads of one process, all attached to the same pool. */
export const shmProvider: Provider = {
  name: 'shm',
  info(): FabricInfo {
    return {
      provider: 'shm',
      caps: ['rma', 'tagged', 'remote-cq-data', 'dmabuf-mr'],
      maxMessageSize: MAX_PAYLOAD,
      maxRmaSize: 2 ** 31 - 1,
      defaultCqSize: SLOTS * 16,
    };
  },
  canConnect(local: EndpointAddress, remote: EndpointAddress): boolean {
    return local.provider === 'shm' && remote.provider === 'shm' && local.identity === remote.identity;
  },
  openDomain(pool: Pool): DomainImpl {
    return new ShmDomain(pool);
  },
};
