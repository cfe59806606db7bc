import { TransportError } from '@collective/transport';
import type { Store } from '@collective/rendezvous';
import type { PeerRecord } from './comm_base/peer_record.js';
import { CollectiveError } from './comm_errors.js';

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
