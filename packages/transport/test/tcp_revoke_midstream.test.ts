import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PeerProcess, startPair } from './helpers/tcp_peers.js';

const CHUNK = 4096;
const CHUNKS = 2048;

describe('revoke in the target process in the middle of an RMA stream', () => {
  let a: PeerProcess;
  let b: PeerProcess;
  beforeAll(async () => {
    // b logs why it refuses; a is told only that it was refused.
    [a, b] = await startPair(CHUNK * CHUNKS, { COLLECTIVE_DEBUG: 'INFO' });
  });
  afterAll(async () => Promise.all([a?.stop(), b?.stop()]));

  it('refuses every later write (EACCES, without saying why), keeps earlier data intact and lands nothing after', async () => {
    await b.call('fillByte', 0, CHUNK * CHUNKS, 0);
    // b revokes its buffer once 200 of a's writes have landed, while a keeps streaming.
    const revoked = (async () => {
      await b.call('counterWait', 200, 20_000);
      await b.call('revoke');
    })();
    // At most 16 in flight and 30 more after the first failure: fewer refusals than make b close the connection.
    const { status, first } = await a.call('stream', 0, b.key, CHUNK, CHUNKS, 16, 30);
    await revoked;

    const firstError = (status as string[]).findIndex((s) => s !== 'ok');
    expect(firstError).toBeGreaterThanOrEqual(200);
    expect(status.slice(firstError).every((s: string) => s === 'EACCES')).toBe(true);
    expect(first.message).toMatch(new RegExp(`^the write of ${CHUNK} bytes at offset \\d+ of remote key ${b.key} was refused by tcp peer 127\\.0\\.0\\.1:${b.address.port} `));
    expect(first.message).not.toMatch(/revoked \(/);
    expect(b.stderr).toMatch(/refused the write .*: the dma-buf behind the region was revoked/);
    expect(await b.call('checkStream', CHUNK, status, 0)).toBe(-1);
    // Registering the revoked buffer again is refused too.
    await expect(b.call('reregister')).rejects.toMatchObject({ code: 'EIO' });
  });
});
