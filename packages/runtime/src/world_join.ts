import { TransportError } from '@collective/transport';
import type { JobTopology, Store } from '@collective/rendezvous';
import type { PeerRecord } from './comm_base/peer_record.js';
import { CollectiveError } from './comm_errors.js';
import type { StreamThreads } from './stream/stream_threads.js';

/** How often a wait on the store looks for another process's abort marker. */
const SLICE_MS = 200;

// The store's values are UTF-8. Decoded here, not with the rendezvous package's
// valueToString, so that a page's bundle (world.ts imports this file) does not
// pull that package's Node-only index in.
const decoder = new TextDecoder();
const valueToString = (value: Uint8Array): string => decoder.decode(value);

/**
 * The store keys of one World.join of a job. Every process joins its
 * Worlds in the same order, so the n-th join of each process meets the
 * n-th join of the others under the same prefix.
 */
export class JoinKeys {
  constructor(readonly prefix: string) {}

  record(rank: number): string {
    return `${this.prefix}/rank/${rank}`;
  }

  get abort(): string {
    return `${this.prefix}/abort`;
  }

  count(name: string): string {
    return `${this.prefix}/${name}/count`;
  }

  done(name: string): string {
    return `${this.prefix}/${name}/done`;
  }
}

/** Counts this process's joins: the n-th join of every process of a job meets under the same store keys. */
let joins = 0;

/** The store keys of this process's next World.join. */
export function nextJoinKeys(): JoinKeys {
  return new JoinKeys(`collective/world/${++joins}`);
}

/** How long a joined World waits for the other processes to reach close(). */
const LEAVE_TIMEOUT_MS = 60_000;

/** What the join protocol drives of a World being joined. */
export interface Joining {
  readonly store: Store;
  readonly job: JobTopology;
  readonly keys: JoinKeys;
  /** ranks of the job */
  readonly size: number;
  readonly timeoutMs: number;
  readonly streams: StreamThreads | undefined;
  /** runs one task on every device thread of this process and waits for all of them */
  all(task: { type: 'prepare' } | { type: 'finish'; directory: PeerRecord[] }): Promise<unknown[]>;
}

/**
 * World.join's rounds once the threads run: every device prepares its rank,
 * the records cross through the store (the streams' too), every device
 * finishes with every rank's record, and no process goes on before all
 * have. A failure tells the other processes why, so they stop waiting, and
 * is thrown.
 */
export async function joinRounds(j: Joining): Promise<void> {
  const { store, job, keys, size, timeoutMs, streams } = j;
  const me = job.ranks[job.rank]!;
  let stage = 'prepare';
  try {
    const records = (await j.all({ type: 'prepare' })) as PeerRecord[];
    stage = 'exchange';
    const directory = await exchangeRecords(store, keys, records, size, timeoutMs);
    if (streams) {
      stage = 'streams';
      const streamKeys = new JoinKeys(`${keys.prefix}/streams`);
      streams.finish(await exchangeRecords(store, streamKeys, await streams.records(timeoutMs), size, timeoutMs));
    }
    stage = 'finish';
    await j.all({ type: 'finish', directory });
    stage = 'joined';
    // No process sends before every endpoint knows every peer: a message ahead of that would have no sender.
    await storeBarrier(store, keys, 'joined', job.worldSize, timeoutMs);
  } catch (e) {
    await markAbort(store, keys, `process ${job.rank} (host ${me.hostname}, pid ${me.pid}) failed at ${stage}: ${(e as Error).message}`);
    throw e;
  }
}

/**
 * A healthy job leaves together: a process that closed its endpoint while
 * a peer still finishes its last call (an acknowledgement on its way) would
 * fail that call. Whether every process arrived in time.
 */
export function leaveTogether(store: Store, keys: JoinKeys, processes: number): Promise<boolean> {
  return storeBarrier(store, keys, 'leave', processes, LEAVE_TIMEOUT_MS).then(
    () => true,
    () => false,
  );
}

/** Tells the other processes of the job that this join failed, and why, so they stop waiting at once. */
export async function markAbort(store: Store, keys: JoinKeys, reason: string): Promise<void> {
  try {
    // Bounded by the store's own timeoutMs (a set that is not answered fails).
    await store.set(keys.abort, reason);
  } catch {
    // The store may be what failed; the others then fail at their deadline.
  }
}

/** Waits for `wanted`, watching for another process's abort marker; throws that reason, or ETIMEDOUT naming what is missing. */
async function waitWatching(store: Store, keys: JoinKeys, wanted: readonly string[], timeoutMs: number, what: (missing: string[]) => string): Promise<void> {
  const end = performance.now() + timeoutMs;
  for (;;) {
    if (await store.check([keys.abort])) {
      throw new CollectiveError('ECANCELED', `another process of the job failed to join: ${valueToString(await store.get(keys.abort))}`);
    }
    try {
      await store.wait(wanted, Math.max(1, Math.min(SLICE_MS, end - performance.now())));
      return;
    } catch (e) {
      if ((e as TransportError).code !== 'ETIMEDOUT') throw e;
    }
    if (performance.now() >= end) {
      const missing: string[] = [];
      for (const k of wanted) if (!(await store.check([k]))) missing.push(k);
      throw new CollectiveError('ETIMEDOUT', what(missing));
    }
  }
}

/** Publishes this process's records and returns every rank's, in rank order. */
export async function exchangeRecords(store: Store, keys: JoinKeys, mine: readonly PeerRecord[], size: number, timeoutMs: number): Promise<PeerRecord[]> {
  for (const r of mine) await store.set(keys.record(r.rank), JSON.stringify(r));
  const all = Array.from({ length: size }, (_, q) => keys.record(q));
  await waitWatching(store, keys, all, timeoutMs, (missing) => {
    const ranks = missing.map((k) => k.slice(k.lastIndexOf('/') + 1));
    return `World.join: rank(s) ${ranks.join(', ')} did not publish their endpoints within ${timeoutMs} ms; check that every process of the job started and calls World.join`;
  });
  const out: PeerRecord[] = [];
  for (const k of all) {
    const r = JSON.parse(valueToString(await store.get(k))) as PeerRecord;
    if (!r || typeof r.rank !== 'number' || typeof r.process !== 'string') throw new TransportError('EINVAL', `the value at '${k}' is not a rank record; is another job using the same store?`);
    out.push(r);
  }
  return out;
}

/** Every process arrives at `name` before any leaves. */
export async function storeBarrier(store: Store, keys: JoinKeys, name: string, processes: number, timeoutMs: number): Promise<void> {
  if ((await store.add(keys.count(name), 1)) === processes) await store.set(keys.done(name), '1');
  await waitWatching(store, keys, [keys.done(name)], timeoutMs, () => `World.join: not every process reached '${name}' within ${timeoutMs} ms`);
}
