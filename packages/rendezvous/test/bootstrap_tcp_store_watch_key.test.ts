import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TCPStore, TCPStoreServer, valueToString } from '@collective/rendezvous';
import { RawClient, str, u64 } from './helpers/raw_socket.js';

// torch ≤ 2.0's numbering (Debian's 1.13): WATCH_KEY is query 7; the answers are its WatchResponseType.
const WATCH_KEY = '07';
const [UPDATED, CREATED, DELETED, REGISTERED] = ['00', '01', '02', '03'];
const notice = (type: string, key: string, old: string, now: string) => type + str(key) + str(old) + str(now);

/** Reads one notice of the shape torch's callback client parses: type, key, old value, new value. */
async function readNotice(c: RawClient): Promise<string> {
  let out = await c.read(1);
  for (let i = 0; i < 3; i++) {
    const len = await c.read(8);
    out += len + (await c.read(Number(Buffer.from(len, 'hex').readBigUInt64LE())));
  }
  return out;
}

describe("TCPStore server: torch ≤ 2.0's WATCH_KEY, as its callback connection speaks it", () => {
  let server: TCPStoreServer;
  let drops: string[];
  let store: TCPStore;
  beforeEach(async () => {
    drops = [];
    server = await TCPStoreServer.start({ host: '127.0.0.1', onDrop: (r) => drops.push(r) });
    // The legacy dialect, with torch's "/" key prefix: what torch 1.13's main connection sends.
    store = await TCPStore.connect({ host: '127.0.0.1', port: server.port, timeoutMs: 5_000, dialect: 'legacy', keyPrefix: '/' });
  });
  afterEach(async () => {
    await store.close();
    await server.close();
  });

  it('acknowledges the registration, then tells of every create, update, compare-set, add and delete, old and new value', async () => {
    const watcher = await RawClient.open(server.port);
    watcher.send(WATCH_KEY + str('/k'));
    watcher.send(WATCH_KEY + str('/n'));
    expect(await watcher.read(2)).toBe(REGISTERED + REGISTERED);
    await store.set('k', 'v1');
    await store.set('k', 'v2');
    await store.add('n', 5);
    await store.add('n', 2);
    expect(valueToString(await store.compareSet('k', 'wrong', 'x'))).toBe('v2');
    await store.compareSet('k', 'v2', 'v3');
    await store.set('other', 'unwatched');
    expect(await store.deleteKey('k')).toBe(true);
    expect(await store.deleteKey('k')).toBe(false);
    await store.compareSet('k', '', 'again');
    const got: string[] = [];
    for (let i = 0; i < 7; i++) got.push(await readNotice(watcher));
    expect(got).toEqual([
      notice(CREATED, '/k', '', 'v1'),
      notice(UPDATED, '/k', 'v1', 'v2'),
      notice(CREATED, '/n', '', '5'),
      notice(UPDATED, '/n', '5', '7'),
      notice(UPDATED, '/k', 'v2', 'v3'),
      notice(DELETED, '/k', 'v3', ''),
      notice(CREATED, '/k', '', 'again'),
    ]);
    // Nothing more: the failed compare-set, the unwatched key and the second delete told nobody.
    await expect(watcher.read(1, 300)).rejects.toThrow(/only 0 of 1 bytes/);
    expect(drops).toEqual([]);
    watcher.end();
  });

  it('every watcher of a key hears of it; a closed watcher is forgotten and the budget it held is returned', async () => {
    const a = await RawClient.open(server.port);
    const b = await RawClient.open(server.port);
    for (const c of [a, b]) c.send(WATCH_KEY + str('/k'));
    expect(await a.read(1)).toBe(REGISTERED);
    expect(await b.read(1)).toBe(REGISTERED);
    expect(server.stats.waiters).toBe(2);
    await store.set('k', 'v');
    expect(await readNotice(a)).toBe(notice(CREATED, '/k', '', 'v'));
    expect(await readNotice(b)).toBe(notice(CREATED, '/k', '', 'v'));
    a.end();
    for (let i = 0; i < 100 && server.stats.waiters > 1; i++) await new Promise((r) => setTimeout(r, 10));
    expect(server.stats.waiters).toBe(1);
    await store.set('k', 'w');
    expect(await readNotice(b)).toBe(notice(UPDATED, '/k', 'v', 'w'));
    b.end();
  });

  it('a watch past options.maxWaiters drops that connection only', async () => {
    const small = await TCPStoreServer.start({ host: '127.0.0.1', maxWaiters: 2, onDrop: (r) => drops.push(r) });
    try {
      const c = await RawClient.open(small.port);
      c.send(WATCH_KEY + str('/a') + WATCH_KEY + str('/b') + WATCH_KEY + str('/c'));
      expect(await c.read(2)).toBe(REGISTERED + REGISTERED);
      expect(await c.closedWithin(3_000)).toBe(true);
      expect(drops.join('\n')).toMatch(/WATCH_KEY beyond the 2 WAITs and watches pending in the server \(options\.maxWaiters\)/);
      expect(small.stats.waiters).toBe(0);
    } finally {
      await small.close();
    }
  });

  it('the v2 dialect (torch ≥ 2.1) has no WATCH_KEY: its query 7 is GETNUMKEYS', async () => {
    const c = await RawClient.open(server.port);
    await store.set('k', 'v');
    c.send('00cef7853c' + '07');
    expect(await c.read(8)).toBe(u64(1));
    c.end();
  });
});
