import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PeerProcess, startPair } from './helpers/tcp_peers.js';

const CHUNK = 4096;
const CHUNKS = 2048;

describe('closing the target memory region while a process streams into it', () => {
  let a: PeerProcess;
  let b: PeerProcess;
  beforeAll(async () => {
    [a, b] = await startPair(CHUNK * CHUNKS);
  });
  afterAll(async () => Promise.all([a?.stop(), b?.stop()]));

  it('fails later writes and reads with ECANCELED and lands nothing after close returns', async () => {
    await b.call('fillByte', 0, CHUNK * CHUNKS, 0);
    const closed = (async () => {
      await b.call('counterWait', 150, 20_000);
      await b.call('closeMr');
    })();
    const { status, first } = await a.call('stream', 0, b.key, CHUNK, CHUNKS, 16, 50);
    await closed;

    const firstError = (status as string[]).findIndex((s) => s !== 'ok');
    expect(firstError).toBeGreaterThanOrEqual(150);
    expect(status.slice(firstError).every((s: string) => s === 'ECANCELED')).toBe(true);
    expect(first.message).toMatch(new RegExp(`remote memory region \\(key ${b.key}\\) was closed \\(tcp peer 127\\.0\\.0\\.1:${b.address.port} `));
    expect(await b.call('checkStream', CHUNK, status, 0)).toBe(-1);

    const read = await a.call('rma', { kind: 'read', length: 16, dest: 0, remoteOffset: 0, key: b.key });
    expect(read.err).toMatchObject({ code: 'ECANCELED' });
  });
});
