import type { EndpointAddress } from '@collective/transport';

/** What a rank publishes about itself when it joins a communicator across processes. */
export interface PeerRecord {
  rank: number;
  /** its pool's identity (Pool.identity): equal identities are one process, reached through shm */
  process: string;
  host: string;
  pid: number;
  /** its tcp endpoint, when it has one */
  address: EndpointAddress | null;
  /** the key of its scratch region at that endpoint */
  scratchKey: number;
}

