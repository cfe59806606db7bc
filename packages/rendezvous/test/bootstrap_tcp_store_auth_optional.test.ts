import { randomBytes } from 'node:crypto';
import { type AddressInfo, type Server, createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { type StoreError, TCPStore, TCPStoreServer, valueToString } from '@collective/rendezvous';
import { RawClient, str, u64 } from './helpers/raw_socket.js';

const SECRET = randomBytes(32);

describe('TCPStore with a secret but without requireAuth, and clients with a secret against servers that are not ours', () => {
  const cleanup: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const f of cleanup.splice(0).reverse()) await f();
  });

  it('a server with a secret still serves torch clients of both dialects, our plain client and our authenticated one, over one key space', async () => {
    const server = await TCPStoreServer.start({ host: '127.0.0.1', secret: SECRET });
    cleanup.push(() => server.close());
    // torch 1.13's own bytes: ADD 'init/' 1, then GETNUMKEYS
    const legacy = await RawClient.open(server.port);
    legacy.send('03' + str('init/') + u64(1) + '06');
    expect(await legacy.read(16)).toBe(u64(1) + u64(1));
    const v2 = await RawClient.open(server.port);
    v2.send('00cef7853c' + '01' + str('/torch') + str('hi'));
    const authed = await TCPStore.connect({ host: '127.0.0.1', port: server.port, timeoutMs: 5_000, secret: SECRET });
    const plain = await TCPStore.connect({ host: '127.0.0.1', port: server.port, timeoutMs: 5_000 });
    expect(valueToString(await authed.get('torch'))).toBe('hi');
    await plain.set('plain', 'p');
    expect(valueToString(await authed.get('plain'))).toBe('p');
    expect(server.stats.refused).toBe(0);
    for (const c of [authed, plain]) await c.close();
    legacy.end();
    v2.end();
  });

  it('a client with a secret fails with EACCES against our server without a secret, and against a server that does not speak AUTH', async () => {
    const plainServer = await TCPStoreServer.start({ host: '127.0.0.1' });
    cleanup.push(() => plainServer.close());
    // torch's servers close a connection whose first query they do not know.
    const torchLike: Server = createServer((s) => s.once('data', () => s.destroy()));
    await new Promise<void>((r) => torchLike.listen(0, '127.0.0.1', r));
    cleanup.push(() => new Promise<void>((r) => torchLike.close(() => r())));
    for (const port of [plainServer.port, (torchLike.address() as AddressInfo).port]) {
      const err = (await TCPStore.connect({ host: '127.0.0.1', port, timeoutMs: 3_000, secret: SECRET }).catch((e: unknown) => e)) as StoreError;
      expect(err.code).toBe('EACCES');
      expect(err.message).toMatch(/it is not this job's store \(torch's own, or another job's\), or it was started with another secret/);
    }
  });

  it('checks its options: requireAuth needs a secret, and a secret is at least 16 bytes', async () => {
    await expect(TCPStoreServer.start({ requireAuth: true })).rejects.toThrow(/EINVAL: options\.requireAuth needs options\.secret/);
    await expect(TCPStoreServer.start({ secret: new Uint8Array(8) })).rejects.toThrow(/EINVAL: options\.secret must be at least 16 bytes \(got 8\)/);
    await expect(TCPStore.connect({ host: '127.0.0.1', port: 1, secret: 'text' as unknown as Uint8Array })).rejects.toThrow(/EINVAL: options\.secret must be a Uint8Array/);
  });
});
