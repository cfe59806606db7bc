import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PeerProcess } from './helpers/tcp_peers.js';

const DEADLINE_MS = 1500;

async function listening(onConnection: (s: Socket) => void): Promise<Server> {
  const s = createServer(onConnection);
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  return s;
}

describe('a peer address that never completes a connection', () => {
  let a: PeerProcess;
  const held: Socket[] = [];
  let silent: Server;
  let closedPort: number;
  beforeAll(async () => {
    a = await (await PeerProcess.start({ COLLECTIVE_SOCKET_CONNECT_TIMEOUT_MS: String(DEADLINE_MS) })).setup(4096);
    // Accepts at the TCP level but never answers the hello.
    silent = await listening((s) => held.push(s));
    // Nothing listens here any more: every attempt is refused.
    const gone = await listening(() => {});
    closedPort = (gone.address() as AddressInfo).port;
    await new Promise<void>((resolve) => gone.close(() => resolve()));
  });
  afterAll(async () => {
    held.forEach((s) => s.destroy());
    silent?.close();
    await a?.stop();
  });

  const peer = (port: number) => ({ provider: 'tcp', pool: 12345, identity: 'e'.repeat(32), slot: 0, gen: 1, host: '127.0.0.1', port, process: '1.abc' });

  it.each([
    ['refuses every connection', () => closedPort],
    ['accepts but never answers', () => (silent.address() as AddressInfo).port],
  ])('fails with ENOTCONN naming the address once the deadline passes, when the port %s', async (_what, port) => {
    const p = port();
    const dest = await a.call('insert', peer(p));
    const t0 = Date.now();
    const r = await a.call('rma', { kind: 'write', length: 8, dest, remoteOffset: 0, key: 1 });
    const took = Date.now() - t0;
    expect(r.err?.code).toBe('ENOTCONN');
    expect(r.err.message).toMatch(new RegExp(`could not connect to tcp peer 127\\.0\\.0\\.1:${p} \\(process 1\\.abc\\) within ${DEADLINE_MS} ms`));
    expect(took).toBeGreaterThanOrEqual(DEADLINE_MS - 100);
    // Typically the deadline and ~10 ms: 3x that on a loaded machine, and still far from the 30 s default the option replaces.
    expect(took).toBeLessThan(3 * (DEADLINE_MS + 500));
    // The verdict stands: a later operation fails at once (its error is there when the post returns, without a wait).
    expect((await a.call('rmaAtOnce', { kind: 'read', length: 8, dest, remoteOffset: 0, key: 1 })).err?.code).toBe('ENOTCONN');
  });
});
