import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Pool } from '../src/index.js';
import { type Peer, startPeers, stopPeers } from './helpers/fabric_peers.js';

const CHUNK = 256;
const CHUNKS = 4096;

describe('revoke in the middle of an RMA stream', () => {
  const pool = Pool.create({ bytes: 8 << 20 });
  let a: Peer;
  let b: Peer;
  beforeAll(async () => {
    [a, b] = await startPeers(pool, 2, CHUNK * CHUNKS);
  });
  afterAll(async () => stopPeers([a, b]));

  it('fails every later write with EIO, keeps earlier data intact and writes nothing after', async () => {
    const localView = await a.actor.call(a.dev, 'view', a.buf);
    // b revokes its buffer once 200 of a's writes have landed, while a keeps streaming.
    const revoked = (async () => {
      await b.actor.helper('counterWait', b.counter, 200, 30_000);
      await b.actor.call(b.dmabuf, 'revoke');
    })();
    const status: string[] = await a.actor.helper('stream', a.ep, a.cq, a.mr, 1, b.key, CHUNK, CHUNKS, 50, localView);
    await revoked;

    const firstError = status.findIndex((s) => s !== 'ok');
    expect(firstError).toBeGreaterThanOrEqual(200);
    expect(status.slice(firstError).every((s) => s === 'EIO')).toBe(true);
    expect(status.length).toBe(Math.min(CHUNKS, firstError + 50));
    const dst = pool.u8(b.offset, CHUNK * CHUNKS);
    for (let i = 0; i < status.length; i++) {
      const want = status[i] === 'ok' ? (i % 251) + 1 : 0;
      const chunk = dst.subarray(i * CHUNK, (i + 1) * CHUNK);
      if (!chunk.every((x) => x === want)) throw new Error(`chunk ${i} (${status[i]}) holds ${chunk[0]}, expected ${want}`);
    }
    // Registering the revoked buffer again is refused too.
    await expect(b.actor.call(b.domain, 'registerDmaBuf', b.dmabuf, { access: ['remoteWrite'] })).rejects.toMatchObject({ code: 'EIO' });
  });
});
