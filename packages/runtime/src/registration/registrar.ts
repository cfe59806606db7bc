import type { DmaBuf, MemoryRegion } from '@collective/transport';

/**
 * What registration needs of whatever moves bytes between processes: a
 * user buffer's export made into a region peers can reach, and undone.
 * The net port is one; registration sits below the connectors and never
 * learns which.
 */
export interface Registrar {
  register(dmabuf: DmaBuf): MemoryRegion;
  deregister(mr: MemoryRegion): void;
}
