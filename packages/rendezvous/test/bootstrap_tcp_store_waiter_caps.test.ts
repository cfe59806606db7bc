import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TCPStoreServer } from '@collective/rendezvous';
import { RawClient, str, u32, u64 } from './helpers/raw_socket.js';

const MAGIC = 'cef7853c';
const wait = (...keys: string[]) => '06' + u64(keys.length) + keys.map((k) => str(k)).join(''); // v2 WAIT

async function v2(port: number): Promise<RawClient> {
  const c = await RawClient.open(port);
  c.send('00' + MAGIC);
  return c;
}

/** A PING answered means every query sent before it was handled. */
async function synced(c: RawClient): Promise<void> {
  c.send('0d' + u32(9));
  expect(await c.read(4)).toBe(u32(9));
}

// WAIT registered waiters without limit (review 2, F5).
describe('TCPStore server: pending WAITs are capped per connection, in total and in bytes of keys', () => {
  let server: TCPStoreServer;
  let drops: string[];
  beforeEach(async () => {
    drops = [];
    server = await TCPStoreServer.start({ host: '127.0.0.1', maxWaitersPerConnection: 2, maxWaiters: 3, maxWaitBytes: 1000, onDrop: (r) => drops.push(r) });
  });
  afterEach(() => server.close());

  it('refuses the WAIT past each cap by dropping its connection; the waiters of a dropped connection are freed and the others still wake', async () => {
    const a = await v2(server.port);
    a.send(wait('a1') + wait('a2'));
    await synced(a);
    const b = await v2(server.port);
    b.send(wait('b1'));
    await synced(b);
    expect(server.stats.waiters).toBe(3);

    const c = await v2(server.port);
    c.send(wait('c1'));
    expect(await c.closedWithin(3_000)).toBe(true);
    expect(drops.join('\n')).toMatch(/beyond the 3 pending in the server \(options\.maxWaiters\)/);

    a.send(wait('a3'));
    expect(await a.closedWithin(3_000)).toBe(true);
    expect(drops.join('\n')).toMatch(/beyond the 2 pending on one connection \(options\.maxWaitersPerConnection\)/);
    for (let i = 0; i < 100 && server.stats.waiters !== 1; i++) await new Promise((r) => setTimeout(r, 10));
    expect(server.stats.waiters).toBe(1);

    const d = await v2(server.port);
    d.send(wait('x'.repeat(1001)));
    expect(await d.closedWithin(3_000)).toBe(true);
    expect(drops.join('\n')).toMatch(/1001 bytes of keys would take pending waits past options\.maxWaitBytes \(1000\)/);

    const e = await v2(server.port);
    e.send(wait('b1'));
    await synced(e);
    e.send('01' + str('b1') + str('v')); // SET wakes b and e
    expect(await b.read(1)).toBe('00');
    expect(await e.read(1)).toBe('00');
    expect(server.stats.waiters).toBe(0);
    b.end();
    e.end();
  });
});
