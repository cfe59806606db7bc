import type { DmaBuf } from '../../dmabuf.js';
import type { Pool } from '../../pool.js';
import type { DomainImpl, EndpointAddress, FabricInfo, MrImpl, Provider } from '../../fabric/provider.js';
import { ShmMemoryRegion } from '../shm/memory_region.js';
import { TcpEndpoint } from './endpoint.js';
import { MAX_TAGGED } from './layout.js';

class TcpDomain implements DomainImpl {
  readonly token: number;
  constructor(readonly pool: Pool) {
    this.token = pool.nextToken();
  }

  openEndpoint(): TcpEndpoint {
    return TcpEndpoint.open(this.pool, this.token);
  }

  /**
   * The same registration as shm's: a pinned dynamic attachment published
   * in the pool's MR table. The target checks remote keys against that
   * table and reads straight into (or sends straight from) the mapping.
   */
  registerDmaBuf(dmabuf: DmaBuf, offset: number, length: number, access: number, windowed: boolean): MrImpl {
    return ShmMemoryRegion.register(this.pool, this.token, dmabuf, offset, length, access, windowed);
  }
}

/** Whether two addresses name endpoints of one process (one pool): those stay on shm. */
function samePool(a: EndpointAddress, b: EndpointAddress): boolean {
  return a.identity === b.identity;
}

/**
 * Processes and hosts: RMA and tagged messages over sockets that each
 * endpoint's own thread drives (a Unix socket between processes of one
 * host, tcp between hosts; the listener thread only connects them).
 */
export const tcpProvider: Provider = {
  name: 'tcp',
  info(): FabricInfo {
    return {
      provider: 'tcp',
      caps: ['rma', 'tagged', 'remote-cq-data', 'dmabuf-mr'],
      maxMessageSize: MAX_TAGGED,
      maxRmaSize: 2 ** 31 - 1,
      defaultCqSize: 1024,
    };
  },
  canConnect(local: EndpointAddress, remote: EndpointAddress): boolean {
    return local.provider === 'tcp' && remote.provider === 'tcp' && typeof remote.host === 'string' && !samePool(local, remote);
  },
  openDomain(pool: Pool): DomainImpl {
    return new TcpDomain(pool);
  },
};
