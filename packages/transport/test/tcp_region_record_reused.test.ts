import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PeerProcess, startPair } from './helpers/tcp_peers.js';

const CHUNK = 4096;
const CHUNKS = 2048;
const SENTINEL = 0xee;

describe("a region's record and pages reused while a peer still writes with the old key", () => {
  let a: PeerProcess;
  let b: PeerProcess;
  beforeAll(async () => {
    [a, b] = await startPair(CHUNK * CHUNKS);
  });
  afterAll(async () => Promise.all([a?.stop(), b?.stop()]));

  it('fails the late writes and never writes the new registration, whose key differs', async () => {
    await b.call('fillByte', 0, CHUNK * CHUNKS, 0);
    const oldKey = b.key;
    // Once 150 writes have landed, b closes the region and registers the same pages again.
    const reused = (async () => {
      await b.call('counterWait', 150, 20_000);
      return b.call('closeAndReuse', SENTINEL);
    })();
    // 40 more after the first failure (and 16 in flight): fewer refusals than make b close the connection.
    const { status } = await a.call('stream', 0, oldKey, CHUNK, CHUNKS, 16, 40);
    const { old, key } = await reused;
    expect(old).toBe(oldKey);
    expect(key).not.toBe(oldKey);

    const firstError = (status as string[]).findIndex((s) => s !== 'ok');
    expect(firstError).toBeGreaterThanOrEqual(150);
    // Refused, as a closed region or (once the record is reused) as an unknown key: a is not told which.
    expect(status.slice(firstError).every((s: string) => s === 'EACCES')).toBe(true);
    // Nothing of a's reached the pages after they were handed to the new registration.
    expect(await b.call('checkByte', 0, CHUNK * CHUNKS, SENTINEL)).toBe(-1);
    // The old key stays dead; the new one works.
    expect((await a.call('rma', { kind: 'write', length: 16, dest: 0, remoteOffset: 0, key: oldKey })).err?.code).toBe('EACCES');
    expect((await a.call('rma', { kind: 'write', length: 16, dest: 0, remoteOffset: 0, key })).ok).toBeDefined();
  });
});
