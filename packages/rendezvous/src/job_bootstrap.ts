import { randomUUID } from 'node:crypto';
import { type HostIdentity, hostIdentity } from './host_identity.js';
import { type Store, StoreError, checkTimeout, valueToString } from './store.js';

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** What every process publishes at bootstrap. */
export interface RankRecord {
  rank: number;
  worldSize: number;
  version: string;
  runId: string;
  hostname: string;
  hostId: string;
  pid: number;
  /** random per bootstrap call, so two claims of one rank never look alike */
  instance: string;
  /** opaque to the bootstrap: where this process's data plane accepts connections */
  listenAddress: string;
  poolBytes: number;
  devices: number;
  /** the local rank the launcher gave, if any (the derived one is in JobTopology) */
  launcherLocalRank: number | null;
  /** settings that must agree on every process */
  options: { [key: string]: JsonValue };
}

export interface HostGroup {
  index: number;
  hostId: string;
  hostname: string;
  /** ranks on this host, ascending */
  ranks: number[];
}

/** Every rank's record and the box structure derived from them; the same on every rank. */
export interface JobTopology {
  rank: number;
  worldSize: number;
  ranks: readonly RankRecord[];
  /** hosts in order of their lowest rank */
  hosts: readonly HostGroup[];
  /** host index of each rank */
  hostOf: readonly number[];
  /** each rank's position among the ranks of its host */
  localRankOf: readonly number[];
  hostIndex: number;
  localRank: number;
  localWorldSize: number;
  /** ranks that share this process's box, this one included */
  peersOnHost: readonly number[];
  /** global index of each rank's first device */
  deviceOffsets: readonly number[];
  totalDevices: number;
}

export interface BootstrapOptions {
  rank: number;
  worldSize: number;
  /** opaque address of this process's data plane; default '' */
  listenAddress?: string;
  /** devices this process owns; default 1 */
  devices?: number;
  /** bytes of this process's pool; default 0 */
  poolBytes?: number;
  /** default hostIdentity() */
  host?: HostIdentity;
  localRank?: number;
  /** must be equal on every process; default BOOTSTRAP_VERSION */
  version?: string;
  /** must be equal on every process; default '' */
  runId?: string;
  /** must be equal on every process */
  options?: { [key: string]: JsonValue };
  /** deadline of the whole bootstrap; default 120 s */
  timeoutMs?: number;
  /** where the records go in the store; default 'collective/bootstrap' */
  prefix?: string;
}

export const BOOTSTRAP_VERSION = '@collective/runtime 0.1.0 bootstrap/1';

const fail = (code: 'EINVAL' | 'ETIMEDOUT' | 'ECANCELED', message: string, keys: readonly string[] = []): never => {
  throw new StoreError(code, `bootstrap: ${message}`, keys);
};

function checkInt(name: string, v: unknown, min: number): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) {
    fail('EINVAL', `options.${name} must be ${min > 0 ? 'a positive' : 'a non-negative'} integer (got ${String(v)})`);
  }
  return v as number;
}

interface AbortMarker {
  abort: string;
  by: number;
}

function parse(key: string, bytes: Uint8Array): RankRecord | AbortMarker {
  try {
    const v = JSON.parse(valueToString(bytes)) as RankRecord | AbortMarker;
    if (typeof v === 'object' && v !== null) return v;
  } catch {
    // fall through
  }
  return fail('EINVAL', `the value at '${key}' is not a bootstrap record; is another job using the same store and prefix?`);
}

const isAbort = (v: RankRecord | AbortMarker): v is AbortMarker => typeof (v as AbortMarker).abort === 'string';

const where = (r: RankRecord): string => `rank ${r.rank} (host ${r.hostname}, pid ${r.pid})`;

const canonical = (v: JsonValue | undefined): string => {
  if (v === undefined) return 'unset';
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v !== null && typeof v === 'object') return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`).join(',')}}`;
  return JSON.stringify(v);
};

/** Why `other` cannot join the job `ref` (rank 0's record) describes, or undefined. */
function disagreement(ref: RankRecord, other: RankRecord): string | undefined {
  if (other.version !== ref.version) return `${where(other)} runs ${JSON.stringify(other.version)} but ${where(ref)} runs ${JSON.stringify(ref.version)}; every process of a job must run the same version`;
  if (other.worldSize !== ref.worldSize) return `${where(other)} was started with a world size of ${other.worldSize} but ${where(ref)} with ${ref.worldSize}; check WORLD_SIZE (or -np, --nproc-per-node × --nnodes) on every node`;
  if (other.runId !== ref.runId) return `${where(other)} belongs to run ${JSON.stringify(other.runId)} but ${where(ref)} to ${JSON.stringify(ref.runId)}; two jobs are sharing one store`;
  const keys = [...new Set([...Object.keys(ref.options), ...Object.keys(other.options)])].sort();
  for (const k of keys) {
    const a = canonical(ref.options[k]);
    const b = canonical(other.options[k]);
    if (a !== b) return `option '${k}' differs: ${where(ref)} has ${a}, ${where(other)} has ${b}; every process must be started with the same options`;
  }
  return undefined;
}

/** Derives hosts, local ranks and device offsets; pure, so every rank computes the same. */
export function deriveTopology(rank: number, records: readonly RankRecord[]): JobTopology {
  const hosts: HostGroup[] = [];
  const byId = new Map<string, HostGroup>();
  const hostOf: number[] = [];
  const localRankOf: number[] = [];
  const deviceOffsets: number[] = [];
  let totalDevices = 0;
  for (const r of records) {
    let group = byId.get(r.hostId);
    if (group === undefined) {
      group = { index: hosts.length, hostId: r.hostId, hostname: r.hostname, ranks: [] };
      hosts.push(group);
      byId.set(r.hostId, group);
    }
    hostOf.push(group.index);
    localRankOf.push(group.ranks.length);
    group.ranks.push(r.rank);
    deviceOffsets.push(totalDevices);
    totalDevices += r.devices;
  }
  const hostIndex = hostOf[rank] as number;
  const mine = hosts[hostIndex] as HostGroup;
  return {
    rank,
    worldSize: records.length,
    ranks: records,
    hosts,
    hostOf,
    localRankOf,
    hostIndex,
    localRank: localRankOf[rank] as number,
    localWorldSize: mine.ranks.length,
    peersOnHost: mine.ranks,
    deviceOffsets,
    totalDevices,
  };
}

/**
 * Bootstraps a job through `store`: every process publishes its record (host,
 * listen address, pool, devices, version, options), reads everyone's, checks
 * that they agree with rank 0's, and derives which ranks share a box. A
 * process that finds a disagreement writes an abort marker into every record
 * slot still empty, so the others fail at once with its reason instead of at
 * their deadline. A timeout names the ranks that never published.
 */
export async function bootstrapJob(store: Store, options: BootstrapOptions): Promise<JobTopology> {
  const worldSize = checkInt('worldSize', options.worldSize, 1);
  const rank = checkInt('rank', options.rank, 0);
  if (rank >= worldSize) fail('EINVAL', `options.rank (${rank}) must be less than options.worldSize (${worldSize})`);
  const devices = checkInt('devices', options.devices ?? 1, 1);
  const poolBytes = checkInt('poolBytes', options.poolBytes ?? 0, 0);
  if (options.localRank !== undefined) checkInt('localRank', options.localRank, 0);
  const timeoutMs = checkTimeout(options.timeoutMs ?? 120_000, 'options.timeoutMs');
  const listenAddress = options.listenAddress ?? '';
  if (typeof listenAddress !== 'string') fail('EINVAL', `options.listenAddress must be a string (got ${typeof listenAddress})`);
  const prefix = options.prefix ?? 'collective/bootstrap';
  const host = options.host ?? hostIdentity();
  const deadline = Date.now() + timeoutMs;
  const left = () => Math.max(1, deadline - Date.now());
  const key = (r: number) => `${prefix}/rank/${r}`;

  const mine: RankRecord = {
    rank,
    worldSize,
    version: options.version ?? BOOTSTRAP_VERSION,
    runId: options.runId ?? '',
    hostname: host.hostname,
    hostId: host.hostId,
    pid: process.pid,
    instance: randomUUID(),
    listenAddress,
    poolBytes,
    devices,
    launcherLocalRank: options.localRank ?? null,
    options: options.options ?? {},
  };
  const json = JSON.stringify(mine);

  // torch 1.13's server does not wake waiters on a key that COMPARE_SET created;
  // setting the same value again (it is ours alone by then) does.
  const claim = async (k: string, value: string): Promise<Uint8Array> => {
    const now = await store.compareSet(k, '', value);
    if (valueToString(now) === value) await store.set(k, value);
    return now;
  };
  const abort = async (reason: string, slots: number): Promise<never> => {
    const marker = JSON.stringify({ abort: reason, by: rank } satisfies AbortMarker);
    await Promise.all(Array.from({ length: slots }, (_, r) => claim(key(r), marker).catch(() => undefined)));
    return fail('EINVAL', reason);
  };
  const aborted = (m: AbortMarker): never => fail('ECANCELED', `rank ${m.by} gave up: ${m.abort}`);

  // compareSet claims the slot, so a second process started as the same rank is caught.
  const claimed = await claim(key(rank), json);
  if (valueToString(claimed) !== json) {
    const other = parse(key(rank), claimed);
    if (isAbort(other)) aborted(other);
    await abort(`rank ${rank} was started twice: by ${where(other as RankRecord)} and by pid ${process.pid} on host ${host.hostname}`, worldSize);
  }

  const read = async (r: number): Promise<RankRecord> => {
    let bytes: Uint8Array;
    try {
      bytes = await store.get(key(r), left());
    } catch (e) {
      if (e instanceof StoreError && e.code === 'ETIMEDOUT') {
        fail('ETIMEDOUT', `rank ${r} did not publish its record within ${timeoutMs} ms (key '${key(r)}'); was it started, and does it point at the same store?`, [key(r)]);
      }
      throw e;
    }
    const v = parse(key(r), bytes);
    if (isAbort(v)) aborted(v);
    const rec = v as RankRecord;
    if (rec.rank !== r) fail('EINVAL', `the record at '${key(r)}' claims rank ${String(rec.rank)}`);
    return rec;
  };

  // Rank 0's record first: a wrong world size is caught before waiting for ranks that will never come.
  const ref = rank === 0 ? mine : await read(0);
  const early = disagreement(ref, mine);
  if (early) await abort(early, Math.max(worldSize, ref.worldSize));

  const keys = Array.from({ length: worldSize }, (_, r) => key(r));
  try {
    await store.wait(keys, left());
  } catch (e) {
    if (e instanceof StoreError && e.code === 'ETIMEDOUT') {
      const absent = new Set(e.keys);
      const missing = keys.map((k, r) => (absent.has(k) ? r : -1)).filter((r) => r >= 0);
      const named = missing.length > 0 ? missing : (await Promise.all(keys.map((k, r) => store.check([k]).then((ok) => (ok ? -1 : r))))).filter((r) => r >= 0);
      fail('ETIMEDOUT', `${named.length} of ${worldSize} ranks did not publish their records within ${timeoutMs} ms: rank${named.length === 1 ? '' : 's'} ${named.join(', ')} (keys under '${prefix}/rank/'); were they started, and do they point at the same store?`, named.map(key));
    }
    throw e;
  }
  const records: RankRecord[] = [];
  for (let r = 0; r < worldSize; r++) records.push(r === rank ? mine : r === 0 ? ref : await read(r));
  for (const rec of records) {
    const why = disagreement(ref, rec);
    if (why) await abort(why, worldSize);
  }
  return deriveTopology(rank, records);
}
