import type { CollectiveKind } from '@collective/runtime';

/** nccl-tests names, and how each maps onto the runtime. */
export const COLLECTIVES = ['all_reduce', 'all_gather', 'reduce_scatter', 'broadcast', 'reduce', 'alltoall', 'sendrecv'] as const;
export type CollectiveName = (typeof COLLECTIVES)[number];

export interface CollectiveSpec {
  kind: CollectiveKind | 'sendRecv';
  reducing: boolean;
  rooted: boolean;
  /** busbw = algbw × factor(n), as nccl-tests defines it */
  busFactor: (n: number) => number;
  /** the size of one rank's output is split n ways */
  perRankBlocks: boolean;
}

export const SPECS: Record<CollectiveName, CollectiveSpec> = {
  all_reduce: { kind: 'allReduce', reducing: true, rooted: false, busFactor: (n) => (2 * (n - 1)) / n, perRankBlocks: false },
  all_gather: { kind: 'allGather', reducing: false, rooted: false, busFactor: (n) => (n - 1) / n, perRankBlocks: true },
  reduce_scatter: { kind: 'reduceScatter', reducing: true, rooted: false, busFactor: (n) => (n - 1) / n, perRankBlocks: true },
  broadcast: { kind: 'broadcast', reducing: false, rooted: true, busFactor: () => 1, perRankBlocks: false },
  reduce: { kind: 'reduce', reducing: true, rooted: true, busFactor: () => 1, perRankBlocks: false },
  alltoall: { kind: 'allToAll', reducing: false, rooted: false, busFactor: (n) => (n - 1) / n, perRankBlocks: true },
  sendrecv: { kind: 'sendRecv', reducing: false, rooted: false, busFactor: () => 1, perRankBlocks: false },
};
