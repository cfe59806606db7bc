import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TCPStoreServer } from '@collective/rendezvous';
import { RawClient, str, u64 } from './helpers/raw_socket.js';

// A connection could hold a partial frame (and its buffer) for ever (review 2, F6).
describe('TCPStore server: frameTimeoutMs and idleTimeoutMs, never for a client that waits', () => {
  let server: TCPStoreServer;
  let drops: string[];
  beforeEach(async () => {
    drops = [];
    server = await TCPStoreServer.start({ host: '127.0.0.1', frameTimeoutMs: 200, idleTimeoutMs: 400, onDrop: (r) => drops.push(r) });
  });
  afterEach(() => server.close());

  it('drops a connection that stops halfway through a query, and one that never sends a whole query; keeps a client blocked in WAIT', async () => {
    const waiting = await RawClient.open(server.port);
    waiting.send('05' + u64(1) + str('later')); // legacy WAIT, left pending
    const half = await RawClient.open(server.port);
    half.send('00' + str('k') + u64(100) + 'abcd'); // legacy SET with 4 of its 100 value bytes
    const silent = await RawClient.open(server.port);

    expect(await half.closedWithin(5_000)).toBe(true);
    expect(await silent.closedWithin(5_000)).toBe(true);
    expect(drops.join('\n')).toMatch(/held an incomplete query for over 200 ms \(options\.frameTimeoutMs\)/);
    expect(drops.join('\n')).toMatch(/sent no complete query within 400 ms of connecting \(options\.idleTimeoutMs\)/);
    expect(server.stats.timedOut).toBe(2);
    expect(server.bufferedBytes).toBe(0);

    // Well past both timeouts, the waiting client is still there and wakes.
    await new Promise((r) => setTimeout(r, 600));
    expect(waiting.closed).toBe(false);
    const setter = await RawClient.open(server.port);
    setter.send('00' + str('later') + str('v'));
    expect(await waiting.read(1)).toBe('00');
    waiting.end();
    setter.end();
  });
});
