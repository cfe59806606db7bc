import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PeerProcess, startPair } from './helpers/tcp_peers.js';

// Each write is 1 MiB: four times what the target reads from a socket at
// once (RX_BYTES, 256 KiB, in pair.ts) and several socket buffers, so it
// lands in many pieces, each re-checked against the region and its dma-buf.
const CHUNK = 1 << 20;
const CHUNKS = 40;
/** The revoke comes in the middle of a write into this chunk or a later one. */
const FROM = 10;

describe('revoke in the target process in the middle of an RMA stream', () => {
  let a: PeerProcess;
  let b: PeerProcess;
  beforeAll(async () => {
    // b logs why it refuses; a is told only that it was refused.
    [a, b] = await startPair(CHUNK * CHUNKS, { COLLECTIVE_DEBUG: 'INFO' });
  });
  afterAll(async () => Promise.all([a?.stop(), b?.stop()]));

  it('cuts a write that has landed in part: the rest of it and every later write are refused (EACCES, without saying why), earlier data stays intact and nothing lands after', async () => {
    await b.call('fillByte', 0, CHUNK * CHUNKS, 0);
    const cutting = b.call('cutMidWrite', 'revoke', CHUNK, FROM, 20_000);
    // At most 4 in flight and 4 more after the first failure: fewer refusals than make b close the connection.
    const { status, first } = await a.call('stream', 0, b.key, CHUNK, CHUNKS, 4, 4);
    const cut = await cutting;

    expect(cut.chunk).toBeGreaterThanOrEqual(FROM);
    expect(cut.landed).toBeGreaterThan(0);
    expect(cut.landed).toBeLessThan(CHUNK);
    const firstError = (status as string[]).findIndex((s) => s !== 'ok');
    expect(firstError).toBe(cut.chunk);
    expect(status.slice(firstError).every((s: string) => s === 'EACCES')).toBe(true);
    expect(first.message).toMatch(new RegExp(`^the write of ${CHUNK} bytes at offset ${cut.chunk * CHUNK} of remote key ${b.key} was refused by tcp peer 127\\.0\\.0\\.1:${b.address.port} `));
    expect(first.message).not.toMatch(/revoked \(/);
    expect(b.stderr).toMatch(new RegExp(`refused the write of ${CHUNK} bytes at offset ${cut.chunk * CHUNK} of key ${b.key} from .*: the dma-buf behind the region was revoked`));
    expect(await b.call('changedSinceCut')).toBe(-1);
    expect(await b.call('checkStream', CHUNK, status, 0, cut)).toBe(-1);
    // Registering the revoked buffer again is refused too.
    await expect(b.call('reregister')).rejects.toMatchObject({ code: 'EIO' });
  });
});
