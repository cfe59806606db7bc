import { describe, expect, it } from 'vitest';
import { StoreError, TCPStore, TCPStoreServer, valueToString } from '@collective/rendezvous';
import { freePort } from './helpers/processes.js';
import { RawClient, str, u64 } from './helpers/raw_socket.js';

const text = valueToString;

describe.each(['legacy', 'v2'] as const)('TCPStore client across a server restart and dropped connections (%s)', (dialect) => {
  it('reconnects on the next call after the server restarts on the same port', async () => {
    const port = await freePort();
    let server = await TCPStoreServer.start({ host: '127.0.0.1', port });
    const c = await TCPStore.connect({ host: '127.0.0.1', port, dialect, timeoutMs: 5_000 });
    try {
      await c.set('a', '1');
      await server.close();
      server = await TCPStoreServer.start({ host: '127.0.0.1', port });
      // The old connection is dead; set is safe to repeat, so it goes through on a new one.
      await c.set('b', '2');
      expect(text(await c.get('b'))).toBe('2');
      // The restarted server started empty.
      expect(await c.check(['a'])).toBe(false);
    } finally {
      await c.close();
      await server.close();
    }
  });

  it('a get waiting through a restart is retried and released by a set on the new server', async () => {
    const port = await freePort();
    let server = await TCPStoreServer.start({ host: '127.0.0.1', port });
    const c = await TCPStore.connect({ host: '127.0.0.1', port, dialect, timeoutMs: 8_000 });
    try {
      const pending = c.get('late');
      await new Promise((r) => setTimeout(r, 100));
      await server.close();
      await new Promise((r) => setTimeout(r, 200));
      server = await TCPStoreServer.start({ host: '127.0.0.1', port });
      const other = await TCPStore.connect({ host: '127.0.0.1', port, timeoutMs: 5_000 });
      await new Promise((r) => setTimeout(r, 300));
      await other.set('late', 'arrived');
      expect(text(await pending)).toBe('arrived');
      await other.close();
    } finally {
      await c.close();
      await server.close();
    }
  });

  it('a call that is not safe to repeat fails with ENOTCONN naming it; the next call reconnects', async () => {
    const port = await freePort();
    let server = await TCPStoreServer.start({ host: '127.0.0.1', port });
    const c = await TCPStore.connect({ host: '127.0.0.1', port, dialect, timeoutMs: 3_000 });
    try {
      // The store lives in another process in real life; stop it without answering.
      await server.close();
      const err = (await c.add('counter', 1).catch((e: unknown) => e)) as StoreError;
      expect(err).toBeInstanceOf(StoreError);
      expect(err.code).toBe('ENOTCONN');
      expect(err.message).toMatch(/add\('counter'\)/);
      server = await TCPStoreServer.start({ host: '127.0.0.1', port });
      expect(await c.add('counter', 1)).toBe(1);
    } finally {
      await c.close();
      await server.close();
    }
  });

  it('gives up at the deadline with the address and the last connect error when no server comes back', async () => {
    const port = await freePort();
    const t0 = performance.now();
    const err = (await TCPStore.connect({ host: '127.0.0.1', port, dialect, timeoutMs: 600 }).catch((e: unknown) => e)) as StoreError;
    expect(err.code).toBe('ENOTCONN');
    expect(err.message).toMatch(new RegExp(`127\\.0\\.0\\.1:${port}.*ECONNREFUSED`));
    expect(performance.now() - t0).toBeGreaterThanOrEqual(550);
    expect(performance.now() - t0).toBeLessThan(5_000);
  });
});

describe('TCPStore server and a client that disappears', () => {
  it('forgets the waits of a dropped client and keeps serving the others', async () => {
    const server = await TCPStoreServer.start({ host: '127.0.0.1' });
    const c = await TCPStore.connect({ host: '127.0.0.1', port: server.port, timeoutMs: 5_000 });
    try {
      for (let i = 0; i < 5; i++) {
        const raw = await RawClient.open(server.port);
        raw.send('05' + u64(2) + str('/x') + str('/y'));
        await new Promise((r) => setTimeout(r, 20));
        raw.end();
      }
      for (let i = 0; i < 100 && server.connectionCount > 1; i++) await new Promise((r) => setTimeout(r, 10));
      expect(server.connectionCount).toBe(1);
      await c.set('x', '1');
      await c.set('y', '2');
      expect(await c.check(['x', 'y'])).toBe(true);
    } finally {
      await c.close();
      await server.close();
    }
  });
});
