import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TCPStore, TCPStoreServer } from '@collective/rendezvous';
import { RawClient, str, u64 } from './helpers/raw_socket.js';

const pause = () => new Promise((r) => setImmediate(r));

// A frame cut into thousands of pieces must cost the parser about its own
// size, not its size times the number of pieces (review 2, F6: a 16,000-entry
// MULTI_SET trickled in took 11-14 s of CPU).
describe('TCPStore server: a query trickled in small pieces is parsed once', () => {
  let server: TCPStoreServer;
  beforeEach(async () => {
    server = await TCPStoreServer.start({ host: '127.0.0.1' });
  });
  afterEach(() => server.close());

  it('a MULTI_SET of 16,000 entries sent 4 entries at a time: bytes parsed stay within 2 x bytes received', async () => {
    const n = 16_000;
    const c = await RawClient.open(server.port);
    c.send('0b' + u64(n)); // legacy MULTI_SET
    for (let i = 0; i < n; i += 4) {
      let piece = '';
      for (let j = i; j < Math.min(n, i + 4); j++) piece += str(`k${j}`) + str('v');
      c.send(piece);
      await pause();
    }
    c.send('06'); // GETNUMKEYS, answered once the MULTI_SET has been applied
    expect(await c.read(8, 10_000)).toBe(u64(n));
    const { bytesReceived, bytesParsed } = server.stats;
    expect(bytesReceived).toBeGreaterThan(n * 20);
    expect(bytesParsed).toBeLessThanOrEqual(2 * bytesReceived);
    c.end();
  });

  it('a 4 MiB value sent in 4 KiB pieces is copied once', async () => {
    const value = Buffer.alloc(4 << 20, 7);
    const c = await RawClient.open(server.port);
    c.send('00' + str('big') + u64(value.length)); // legacy SET
    for (let at = 0; at < value.length; at += 4096) {
      c.send(value.subarray(at, at + 4096));
      if (at % (64 << 10) === 0) await pause();
    }
    const good = await TCPStore.connect({ host: '127.0.0.1', port: server.port, timeoutMs: 10_000, keyPrefix: '' });
    expect((await good.get('big')).length).toBe(value.length);
    await good.close();
    const { bytesReceived, bytesParsed } = server.stats;
    expect(bytesParsed).toBeLessThanOrEqual(2 * bytesReceived);
    c.end();
  });
});
