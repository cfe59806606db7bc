import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TCPStore, TCPStoreServer } from '@collective/rendezvous';
import { RawClient, str, u64 } from './helpers/raw_socket.js';

const VALUE = 1_000_000;
const BUDGET = 1_200_000;
const CHUNK = 64 << 10;

// Every connection could buffer up to maxFrameBytes at once (review 2, F6).
describe('TCPStore server: maxInputBytes bounds the incomplete queries held over all connections', () => {
  let server: TCPStoreServer;
  beforeEach(async () => {
    server = await TCPStoreServer.start({ host: '127.0.0.1', maxValueBytes: VALUE, maxFrameBytes: BUDGET, maxInputBytes: BUDGET });
  });
  afterEach(() => server.close());

  it('past the budget a second sender is not read until the first frame completes; then both land', async () => {
    const a = await RawClient.open(server.port);
    a.send('00' + str('a') + u64(VALUE)); // legacy SET
    a.send(Buffer.alloc(600_000, 1));
    for (let i = 0; i < 300 && server.bufferedBytes < 600_000; i++) await new Promise((r) => setTimeout(r, 10));

    const b = await RawClient.open(server.port);
    b.send('00' + str('b') + u64(VALUE));
    b.send(Buffer.alloc(VALUE, 2));
    // Until the budget is reached, then a while longer: the level must stay there.
    let most = 0;
    for (let i = 0, after = 0; i < 500 && after < 20; i++) {
      most = Math.max(most, server.bufferedBytes);
      if (most > BUDGET - CHUNK) after++;
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(most).toBeGreaterThan(BUDGET - CHUNK);
    expect(most).toBeLessThanOrEqual(BUDGET + CHUNK);
    expect(server.keyCount).toBe(0);

    a.send(Buffer.alloc(VALUE - 600_000, 1));
    const good = await TCPStore.connect({ host: '127.0.0.1', port: server.port, timeoutMs: 10_000, keyPrefix: '' });
    expect((await good.get('a')).length).toBe(VALUE);
    expect((await good.get('b')).length).toBe(VALUE);
    expect(server.bufferedBytes).toBe(0);
    await good.close();
    a.end();
    b.end();
  });
});
