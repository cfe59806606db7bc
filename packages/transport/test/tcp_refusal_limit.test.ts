import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PeerProcess, startPair } from './helpers/tcp_peers.js';

const LIMIT = 64;

describe('a peer whose operations keep being refused', () => {
  let a: PeerProcess;
  let b: PeerProcess;
  beforeAll(async () => {
    [a, b] = await startPair(4096, { COLLECTIVE_DEBUG: 'INFO' });
  });
  afterAll(async () => Promise.all([a?.stop(), b?.stop()]));

  const bad = (n: number) => Array.from({ length: n }, (_, i) => ({ kind: i % 2 ? 'read' : 'write', dest: 0, remoteOffset: 0, key: b.key + 1 + i, length: 8 }));
  const good = () => a.call('rma', { kind: 'write', dest: 0, remoteOffset: 0, key: b.key, length: 8 });

  it(`is cut off by the target at its ${LIMIT}th refusal on the connection, not before`, async () => {
    expect(await a.call('pipeline', bad(LIMIT - 1), 16)).toEqual(Array(LIMIT - 1).fill('EACCES'));
    expect((await good()).ok).toBeDefined();
    expect(await a.call('pipeline', bad(1), 1)).toEqual(['EACCES']);
    // The connection is gone (never reopened): later operations fail as a lost connection.
    const after = await good();
    expect(after.err?.code).toBe('ENOTCONN');
    expect(after.err.message).toContain(`127.0.0.1:${b.address.port}`);
    expect(b.stderr).toMatch(new RegExp(`closed the connection to .*: ${LIMIT} of its operations were refused`));
  });
});
