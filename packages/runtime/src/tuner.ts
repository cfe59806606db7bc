import { TransportError } from '@collective/transport';
import type { Algorithm, AlgorithmName } from './algorithm.js';
import type { CollectiveKind } from './collective_kind.js';
import { allgatherDirect } from './algorithms/allgather_direct.js';
import { allgatherRing } from './algorithms/allgather_ring.js';
import { allreduceOneshot } from './algorithms/allreduce_direct_oneshot.js';
import { allreduceTwoshot } from './algorithms/allreduce_direct_twoshot.js';
import { allreduceRing } from './algorithms/allreduce_ring.js';
import { allreduceTree } from './algorithms/allreduce_tree.js';
import { alltoallDirect } from './algorithms/alltoall_direct.js';
import { broadcastDirect } from './algorithms/broadcast_direct.js';
import { reduceDirect } from './algorithms/reduce_direct.js';
import { reducescatterDirect } from './algorithms/reducescatter_direct.js';

/** The algorithms each collective offers, the tuner's default first. */
export const TABLE: Partial<Record<CollectiveKind, readonly Algorithm[]>> = {
  allReduce: [allreduceOneshot, allreduceTwoshot, allreduceRing, allreduceTree],
  allGather: [allgatherDirect, allgatherRing],
  reduceScatter: [reducescatterDirect],
  broadcast: [broadcastDirect],
  reduce: [reduceDirect],
  allToAll: [alltoallDirect],
  split: [allgatherDirect],
};

/**
 * Up to this many bytes per rank, one staged copy and one sync beat
 * splitting the work; above it twoshot reads and writes each byte once.
 * (Measured on the 2-core machine: collective-bench all_reduce.)
 */
export const ONESHOT_MAX_BYTES = 256;

export const ALGO_ENV = 'COLLECTIVE_ALGO';

/**
 * COLLECTIVE_ALGO=ring forces ring wherever it exists; a list such as
 * "allReduce=tree,allGather=ring" forces per collective.
 */
export function envAlgorithm(kind: CollectiveKind, env: string | undefined = process.env[ALGO_ENV]): string | undefined {
  if (!env) return undefined;
  for (const part of env.split(',')) {
    const [k, v] = part.split('=').map((x) => x.trim());
    if (v === undefined) {
      if (TABLE[kind]?.some((a) => a.name === k)) return k;
    } else if (k === kind) {
      return v;
    }
  }
  return undefined;
}

/**
 * The algorithm of a call: `forced` (options.algo), else what `env`
 * (COLLECTIVE_ALGO, read once by the caller: process.env is slow) asks for,
 * else the tuned choice.
 */
export function chooseAlgorithm(kind: CollectiveKind, bytes: number, nranks: number, forced?: string, env?: string): Algorithm {
  const options = TABLE[kind];
  if (!options) throw new TransportError('EINVAL', `${kind} has no algorithm table`);
  const want = forced ?? (env ? envAlgorithm(kind, env) : undefined);
  if (want !== undefined) {
    const found = options.find((a) => a.name === want);
    if (!found) {
      const from = forced !== undefined ? 'options.algo' : `${ALGO_ENV}`;
      throw new TransportError('EINVAL', `${from} '${want}' is not an algorithm of ${kind}; choose from ${options.map((a) => a.name).join(', ')}`);
    }
    return found;
  }
  if (kind === 'allReduce') return bytes <= ONESHOT_MAX_BYTES || nranks === 1 ? allreduceOneshot : allreduceTwoshot;
  return options[0]!;
}

export function algorithmNames(kind: CollectiveKind): AlgorithmName[] {
  return (TABLE[kind] ?? []).map((a) => a.name);
}
