import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PeerProcess, startPair } from './helpers/tcp_peers.js';

const CHUNK = 4096;
const CHUNKS = 2048;

describe('closing the target memory region while a process streams into it', () => {
  let a: PeerProcess;
  let b: PeerProcess;
  beforeAll(async () => {
    // b logs why it refuses; a is told only that it was refused.
    [a, b] = await startPair(CHUNK * CHUNKS, { COLLECTIVE_DEBUG: 'INFO' });
  });
  afterAll(async () => Promise.all([a?.stop(), b?.stop()]));

  it('refuses later writes and reads (EACCES, without saying why) and lands nothing after close returns', async () => {
    await b.call('fillByte', 0, CHUNK * CHUNKS, 0);
    const closed = (async () => {
      await b.call('counterWait', 150, 20_000);
      await b.call('closeMr');
    })();
    // At most 16 in flight and 30 more after the first failure: fewer refusals than make b close the connection.
    const { status, first } = await a.call('stream', 0, b.key, CHUNK, CHUNKS, 16, 30);
    await closed;

    const firstError = (status as string[]).findIndex((s) => s !== 'ok');
    expect(firstError).toBeGreaterThanOrEqual(150);
    expect(status.slice(firstError).every((s: string) => s === 'EACCES')).toBe(true);
    expect(first.message).toMatch(new RegExp(`^the write of ${CHUNK} bytes at offset \\d+ of remote key ${b.key} was refused by tcp peer 127\\.0\\.0\\.1:${b.address.port} `));
    expect(first.message).not.toMatch(/closed \(/);
    expect(b.stderr).toMatch(new RegExp(`refused the write of ${CHUNK} bytes at offset \\d+ of key ${b.key} from .*: the region was closed`));
    expect(await b.call('checkStream', CHUNK, status, 0)).toBe(-1);

    const read = await a.call('rma', { kind: 'read', length: 16, dest: 0, remoteOffset: 0, key: b.key });
    expect(read.err).toMatchObject({ code: 'EACCES', message: expect.stringMatching(/^the read of 16 bytes at offset 0 .* was refused/) });
  });
});
