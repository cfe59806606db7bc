import { TransportError } from '@collective/transport';
import { type Algorithm, type AlgorithmName, PROTOCOLS, type Protocol } from './algorithm.js';
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
import { allreduceLl } from './algorithms/allreduce_ll.js';
import { allgatherLl } from './algorithms/allgather_ll.js';
import { reducescatterLl } from './algorithms/reducescatter_ll.js';
import { broadcastLl } from './algorithms/broadcast_ll.js';
import { SMALL_MAX } from './scratch_layout.js';
import { rulesFor, TUNER_FILE_ENV, tuningTable } from './tuner_rules.js';
import type { TunerRule, TuningTable } from './tuning_table.js';
import { envSetting } from '@collective/transport/runtime';

/** The algorithms each collective offers, over each protocol. */
export const TABLE: Partial<Record<CollectiveKind, readonly Algorithm[]>> = {
  allReduce: [allreduceLl, allreduceOneshot, allreduceTwoshot, allreduceRing, allreduceTree],
  allGather: [allgatherLl, allgatherDirect, allgatherRing],
  reduceScatter: [reducescatterLl, reducescatterDirect],
  broadcast: [broadcastLl, broadcastDirect],
  reduce: [reduceDirect],
  allToAll: [alltoallDirect],
  split: [allgatherDirect],
};

export const ALGO_ENV = 'COLLECTIVE_ALGO';
export const PROTO_ENV = 'COLLECTIVE_PROTO';

/**
 * COLLECTIVE_ALGO=ring forces ring wherever it exists; a list such as
 * "allReduce=tree,allGather=ring" forces per collective. COLLECTIVE_PROTO
 * reads the same way with ll and simple.
 */
export function envAlgorithm(kind: CollectiveKind, env: string | undefined): string | undefined {
  return envPick(kind, env, (v) => TABLE[kind]?.some((a) => a.name === v) ?? false);
}

/** The composed algorithm across processes: steps on child communicators inside and between processes. */
export const HIER = 'hier';

/** Collectives with a hierarchical form. */
export const HIER_KINDS: readonly CollectiveKind[] = ['allReduce', 'broadcast', 'allGather', 'reduceScatter'];

/**
 * Whether a call of a communicator that spans processes goes hierarchical:
 * options.algo or COLLECTIVE_ALGO naming 'hier' asks for it, naming any
 * other algorithm (COLLECTIVE_ALGO=ring) forces the flat one, and by
 * default it does.
 */
export function wantsHier(kind: CollectiveKind, forced: string | undefined, env: string | undefined): 'forced' | 'default' | 'no' {
  if (!HIER_KINDS.includes(kind)) return 'no';
  const want = forced ?? envPick(kind, env, (v) => v === HIER || (TABLE[kind]?.some((a) => a.name === v) ?? false));
  if (want === undefined) {
    // COLLECTIVE_ALGO=ring means flat everywhere, also where no ring exists.
    const everywhere = forced === undefined && env ? env.split(',').map((x) => x.trim()).filter((x) => x !== '' && !x.includes('=')) : [];
    return everywhere.length > 0 && !everywhere.includes(HIER) ? 'no' : 'default';
  }
  return want === HIER ? 'forced' : 'no';
}

function envPick(kind: CollectiveKind, env: string | undefined, known: (v: string) => boolean): string | undefined {
  if (!env) return undefined;
  for (const part of env.split(',')) {
    const [k, v] = part.split('=').map((x) => x.trim());
    if (v === undefined) {
      if (k !== undefined && known(k)) return k;
    } else if (k === kind) {
      return v;
    }
  }
  return undefined;
}

/** What besides the collective and size decides the algorithm and protocol of a call. */
export interface ChoiceContext {
  /** options.proto */
  proto?: string;
  /** COLLECTIVE_PROTO, read once by the caller (process.env is slow) */
  envProto?: string;
  /** every peer is reached over shm: ll needs to read peers' slots in place */
  llOk?: boolean;
  /** bytes one rank's ll slot would hold (the whole input for reduce-scatter) */
  llBytes?: number;
  /** the communicator spans processes (tcp): the table's rules, measured over shm, give way to NET_RULES */
  net?: boolean;
  /** the decision list per collective for this world, worked out once per communicator (tunedRules) */
  rules?: Partial<Record<CollectiveKind, readonly TunerRule[]>>;
}

/** The decision lists of every collective for a world of `nranks`, from the table in force. */
export function tunedRules(nranks: number, table: TuningTable = tuningTable(envSetting(TUNER_FILE_ENV))): Partial<Record<CollectiveKind, readonly TunerRule[]>> {
  const out: Partial<Record<CollectiveKind, readonly TunerRule[]>> = {};
  for (const kind of Object.keys(TABLE) as CollectiveKind[]) out[kind] = rulesFor(table, kind, nranks);
  return out;
}

/**
 * The algorithm and protocol of a call: `forced` (options.algo), else what
 * `env` (COLLECTIVE_ALGO) asks for, else the tuning table's rule for the
 * size and world; the protocol likewise from options.proto,
 * COLLECTIVE_PROTO or the table. ll is used only where it can run: the
 * input within one small slot.
 */
export function chooseAlgorithm(kind: CollectiveKind, bytes: number, nranks: number, forced?: string, env?: string, ctx: ChoiceContext = {}): Algorithm {
  const options = TABLE[kind];
  if (!options) throw new TransportError('EINVAL', `${kind} has no algorithm table`);
  const llFits = (ctx.llOk ?? false) && (ctx.llBytes ?? bytes) <= SMALL_MAX;
  const protoFrom = ctx.proto !== undefined ? 'options.proto' : PROTO_ENV;
  const wantProto = ctx.proto ?? envPick(kind, ctx.envProto, (v) => (PROTOCOLS as readonly string[]).includes(v));
  if (wantProto !== undefined && !(PROTOCOLS as readonly string[]).includes(wantProto)) {
    throw new TransportError('EINVAL', `${protoFrom} must be one of ${PROTOCOLS.join(', ')} (got ${wantProto})`);
  }
  // An explicit ll that cannot run is an error; ll from the environment is a preference.
  if (ctx.proto === 'll' && !llFits) {
    throw new TransportError('EINVAL', `options.proto 'll' needs at most ${SMALL_MAX} bytes in a rank's slot (got ${ctx.llBytes ?? bytes}); use 'simple'`);
  }
  const usable = (a: Algorithm) => (a.proto === 'll' ? llFits : true) && (wantProto === undefined || a.proto === wantProto || (a.proto === 'simple' && wantProto === 'll' && !llFits));
  const want = forced ?? (env ? envAlgorithm(kind, env) : undefined);
  if (want !== undefined) {
    const named = options.filter((a) => a.name === want);
    if (named.length === 0) {
      if (want === HIER && HIER_KINDS.includes(kind)) throw new TransportError('EINVAL', `${kind}: algorithm 'hier' needs a communicator over several processes with the same number (more than one) of consecutive ranks in each; this one is not, so choose another algorithm`);
      const from = forced !== undefined ? 'options.algo' : `${ALGO_ENV}`;
      throw new TransportError('EINVAL', `${from} '${want}' is not an algorithm of ${kind}; choose from ${[...new Set(options.map((a) => a.name))].join(', ')}`);
    }
    const fit = named.filter(usable);
    if (fit.length === 0) throw new TransportError('EINVAL', `${kind} has no ${wantProto} protocol for algorithm '${want}'; choose another protocol or algorithm`);
    // Unforced, the faster protocol where it can run.
    return fit.find((a) => a.proto === 'll') ?? fit[0]!;
  }
  const overNet = ctx.net ? NET_RULES[kind] : undefined;
  if (overNet) {
    const name = bytes <= overNet.smallBytes ? overNet.small : overNet.large;
    // ll where it fits (one message per peer, no announcement), else simple.
    const a = options.find((o) => o.name === name && o.proto === 'll' && usable(o)) ?? options.find((o) => o.name === name && o.proto === 'simple' && usable(o));
    if (a) return a;
  }
  for (const rule of ctx.rules?.[kind] ?? rulesFor(tuningTable(envSetting(TUNER_FILE_ENV)), kind, nranks)) {
    if (bytes > rule.maxBytes) continue;
    const a = options.find((o) => o.name === rule.algo && o.proto === rule.proto);
    if (a && usable(a)) return a;
  }
  return options.find(usable) ?? options.find((a) => a.proto === 'simple')!;
}

/**
 * Over sockets every synchronous step of a call costs a one-way hop
 * (15–30 µs here), so what counts is how few steps a call takes: a small
 * all-reduce is one ll message per peer (oneshot: flag and data in one
 * write, no announcement); a large one streams through the ring's FIFOs,
 * which keep pieces in flight, where twoshot fetches its sources piece by
 * piece, a read round trip each.
 */
const NET_RULES: Partial<Record<CollectiveKind, { smallBytes: number; small: AlgorithmName; large: AlgorithmName }>> = {
  allReduce: { smallBytes: SMALL_MAX, small: 'oneshot', large: 'ring' },
};

/** Every (algorithm, protocol) pair of a collective, for a tuner to measure. */
export function tunerCandidates(kind: CollectiveKind): { algo: AlgorithmName; proto: Protocol }[] {
  return (TABLE[kind] ?? []).map((a) => ({ algo: a.name, proto: a.proto }));
}

/** Bytes one rank's ll slot holds: a call whose slot needs more runs simple. */
export const LL_MAX_BYTES = SMALL_MAX;

export function algorithmNames(kind: CollectiveKind): (AlgorithmName | typeof HIER)[] {
  const names: (AlgorithmName | typeof HIER)[] = [...new Set((TABLE[kind] ?? []).map((a) => a.name))];
  if (HIER_KINDS.includes(kind)) names.push(HIER);
  return names;
}
