import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TCPStore, TCPStoreServer } from '@collective/rendezvous';
import { RawClient, str, u32 } from './helpers/raw_socket.js';

const MAGIC = 'cef7853c';
const LIMIT = 64 << 10;

// APPEND used to grow a value past maxValueBytes, copying the whole value on
// every append (review 2, F5).
describe('TCPStore server: APPEND within maxValueBytes, without copying the value each time', () => {
  let server: TCPStoreServer;
  let drops: string[];
  beforeEach(async () => {
    drops = [];
    server = await TCPStoreServer.start({ host: '127.0.0.1', maxValueBytes: LIMIT, onDrop: (r) => drops.push(r) });
  });
  afterEach(() => server.close());

  it('4096 appends of 16 bytes fill the limit with O(size) copying; one more byte drops the connection and leaves the value as it was', async () => {
    const c = await RawClient.open(server.port);
    c.send('00' + MAGIC);
    const piece = '09' + str('log') + str(Buffer.alloc(16, 1)); // v2 APPEND
    for (let i = 0; i < 4096; i += 256) c.send(piece.repeat(256));
    c.send('0d' + u32(1)); // PING: every append before it has been applied
    expect(await c.read(4)).toBe(u32(1));
    const { appendCopiedBytes } = server.stats;
    expect(appendCopiedBytes).toBeLessThanOrEqual(2 * LIMIT);

    c.send('09' + str('log') + str('x'));
    expect(await c.closedWithin(3_000)).toBe(true);
    expect(drops.join('\n')).toMatch(/a value of 65537 bytes for 'log' exceeds options\.maxValueBytes \(65536\)/);

    const good = await TCPStore.connect({ host: '127.0.0.1', port: server.port, timeoutMs: 5_000, keyPrefix: '' });
    const v = await good.get('log');
    expect(v.length).toBe(LIMIT);
    expect(v.every((b) => b === 1)).toBe(true);
    await good.close();
  });
});
