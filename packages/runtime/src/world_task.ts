import type { PeerRecord } from './comm_base/peer_record.js';

/** Messages from World to its device workers. */
export type WorldTask = { round: number } & (
  | { type: 'init' }
  | { type: 'close' }
  /** whether this rank's communicator is still usable */
  | { type: 'health' }
  | { type: 'spmd'; module: string; args: unknown }
  // A World that joins a job of several processes: each device prepares its rank, then finishes with every rank's record.
  | { type: 'prepare' }
  | { type: 'finish'; directory: PeerRecord[] }
  | { type: 'abandon'; reason: string }
);
