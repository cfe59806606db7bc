import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type StoreError, TCPStore, TCPStoreServer, valueToString } from '@collective/rendezvous';
import { RawClient, str } from './helpers/raw_socket.js';

const SECRET = randomBytes(32);
const OTHER = randomBytes(32);

// The store accepted anyone who could reach its port (review 2, F1).
describe('TCPStore server with requireAuth: only clients that prove the job secret get in', () => {
  let server: TCPStoreServer;
  let logged: string[];
  let inside: TCPStore;
  beforeEach(async () => {
    logged = [];
    server = await TCPStoreServer.start({ host: '127.0.0.1', secret: SECRET, requireAuth: true, onDrop: (r) => logged.push(r) });
    inside = await TCPStore.connect({ host: '127.0.0.1', port: server.port, timeoutMs: 5_000, secret: SECRET, keyPrefix: '' });
  });
  afterEach(async () => {
    await inside.close();
    await server.close();
  });

  it('the right secret works: every call, over v2, and again after a reconnect', async () => {
    expect(inside.dialect).toBe('v2');
    await inside.set('k', 'v');
    expect(valueToString(await inside.get('k'))).toBe('v');
    expect(await inside.add('n', 2)).toBe(2);
    const second = await TCPStore.connect({ host: '127.0.0.1', port: server.port, timeoutMs: 5_000, secret: SECRET, keyPrefix: '' });
    expect(valueToString(await second.get('k'))).toBe('v');
    await second.close();
    expect(server.stats.refused).toBe(0);
  });

  it('a wrong secret is refused with EACCES that names no secret, and its connection sets nothing', async () => {
    const err = (await TCPStore.connect({ host: '127.0.0.1', port: server.port, timeoutMs: 3_000, secret: OTHER }).catch((e: unknown) => e)) as StoreError;
    expect(err.code).toBe('EACCES');
    expect(err.message).toMatch(/did not complete the authentication: it is not this job's store .* or it was started with another secret; give every process of the job the same COLLECTIVE_JOB_SECRET/);
    expect(err.message).not.toContain(SECRET.toString('hex'));
    expect(err.message).not.toContain(OTHER.toString('hex'));

    // By hand: the hello, a made-up proof and a SET behind it in one write.
    const c = await RawClient.open(server.port);
    c.send('c101' + randomBytes(32).toString('hex'));
    expect((await c.read(32)).length).toBe(64); // the server's nonce, and nothing else
    c.send(randomBytes(32).toString('hex') + '01' + str('/intruder') + str('x'));
    expect(await c.closedWithin(3_000)).toBe(true);
    await expect(c.read(1, 100)).rejects.toThrow(/closed after 0 of 1 bytes/);
    expect(await inside.check(['/intruder'])).toBe(false);
    expect(server.stats.refused).toBe(2);
  });

  it('a client without a secret, ours or torch speaking either dialect, is closed before anything it sent is acted on', async () => {
    const err = (await TCPStore.connect({ host: '127.0.0.1', port: server.port, timeoutMs: 3_000 }).catch((e: unknown) => e)) as StoreError;
    expect(err.message).toMatch(/closed the connection as soon as it opened; a store started with a job secret does that to clients without it/);
    for (const bytes of ['00' + str('/legacy') + str('x'), '00cef7853c' + '01' + str('/v2') + str('x'), '06']) {
      const c = await RawClient.open(server.port);
      c.send(bytes);
      expect(await c.closedWithin(3_000)).toBe(true);
      await expect(c.read(1, 100)).rejects.toThrow(/closed after 0 of 1 bytes/);
    }
    expect(await inside.check(['/legacy'])).toBe(false);
    expect(await inside.check(['/v2'])).toBe(false);
    expect(await inside.numKeys()).toBe(0);
  });

  it('refusals are logged once per remote address and all counted', async () => {
    for (let i = 0; i < 4; i++) {
      const c = await RawClient.open(server.port);
      c.send('06');
      expect(await c.closedWithin(3_000)).toBe(true);
    }
    const c = await RawClient.open(server.port, '127.0.0.1', '127.0.0.3');
    c.send('06');
    expect(await c.closedWithin(3_000)).toBe(true);
    const refusals = logged.filter((l) => /refused/.test(l));
    expect(refusals).toHaveLength(2);
    expect(refusals[0]).toMatch(/^refused 127\.0\.0\.1:\d+: the connection did not open with authentication, which this server requires \(further refusals from this address are counted in stats\.refused\)$/);
    expect(refusals[1]).toMatch(/^refused 127\.0\.0\.3:/);
    expect(server.stats.refused).toBe(5);
  });
});
