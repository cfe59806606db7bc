import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PeerProcess, startPair } from './helpers/tcp_peers.js';

const CHUNK = 256 * 1024;
const REGION = 8 << 20;

describe('a peer process killed in the middle of a transfer', () => {
  let a: PeerProcess;
  let b: PeerProcess;
  beforeAll(async () => {
    [a, b] = await startPair(REGION);
  });
  afterAll(async () => Promise.all([a?.stop(), b?.stop()]));

  it("fails the survivor's outstanding and later operations with ENOTCONN naming the peer, within a bounded time", async () => {
    const where = `127.0.0.1:${b.address.port}`;
    // Far more than can finish before the kill: a streams until it sees a failure.
    const streaming = a.call('stream', 0, b.key, CHUNK, 100_000, 8, 20, REGION);
    await b.call('counterWait', 20, 20_000);
    const killedAt = Date.now();
    b.kill();
    const { status, first } = await streaming;
    expect(first.code).toBe('ENOTCONN');
    expect(first.message).toContain(where);
    expect(first.message).toMatch(/was lost .* the peer process may have exited/);
    expect(first.at - killedAt).toBeLessThan(3000);
    expect((status as string[]).filter((s) => s !== 'ok' && s !== 'ENOTCONN')).toEqual([]);

    // Later operations fail at once, naming the same peer: the error is there when the post returns, without a wait.
    const later = await a.call('rmaAtOnce', { kind: 'read', length: 8, dest: 0, remoteOffset: 0, key: b.key });
    expect(later.err?.code).toBe('ENOTCONN');
    expect(later.err.message).toContain(where);
  });
});
