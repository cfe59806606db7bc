import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TCPStoreServer } from '@collective/rendezvous';
import { RawClient, u64 } from './helpers/raw_socket.js';

/** A raw client from a chosen loopback address (all of 127/8 is this machine's). */
const openFrom = (localAddress: string, port: number) => RawClient.open(port, '127.0.0.1', localAddress);

/** Answers a legacy GETNUMKEYS: the server kept the connection. */
async function served(c: RawClient): Promise<boolean> {
  c.send('06');
  return (await c.read(8).catch(() => '')) === u64(0);
}

// 4096 connections from anyone, no per-peer limit (review 2, F6).
describe('TCPStore server: open connections are capped per remote address and in total', () => {
  let server: TCPStoreServer;
  let drops: string[];
  beforeEach(async () => {
    drops = [];
    server = await TCPStoreServer.start({ host: '127.0.0.1', maxConnections: 5, maxConnectionsPerAddress: 3, onDrop: (r) => drops.push(r) });
  });
  afterEach(() => server.close());

  it('a fourth connection from one address and a sixth in all are closed at once; room made by a close is used again', async () => {
    const one = [await openFrom('127.0.0.1', server.port), await openFrom('127.0.0.1', server.port), await openFrom('127.0.0.1', server.port)];
    for (const c of one) expect(await served(c)).toBe(true);
    const extra = await openFrom('127.0.0.1', server.port);
    expect(await extra.closedWithin(3_000)).toBe(true);

    const two = [await openFrom('127.0.0.2', server.port), await openFrom('127.0.0.2', server.port)];
    for (const c of two) expect(await served(c)).toBe(true);
    const sixth = await openFrom('127.0.0.2', server.port);
    expect(await sixth.closedWithin(3_000)).toBe(true);

    expect(server.stats).toMatchObject({ connections: 5, turnedAway: 2 });
    expect(drops.join('\n')).toMatch(/turned away 127\.0\.0\.1: 3 connections open from 127\.0\.0\.1 \(options\.maxConnectionsPerAddress\)/);
    expect(drops.join('\n')).toMatch(/turned away 127\.0\.0\.2: 5 connections open \(options\.maxConnections\)/);

    one[0]?.end();
    for (let i = 0; i < 100 && server.connectionCount > 4; i++) await new Promise((r) => setTimeout(r, 10));
    const again = await openFrom('127.0.0.1', server.port);
    expect(await served(again)).toBe(true);
    for (const c of [...one, ...two, again]) c.end();
  });
});
