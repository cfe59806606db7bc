import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Pool } from '../src/index.js';
import { type Peer, startPeers, stopPeers } from './helpers/fabric_peers.js';

describe('registration of a dma-buf sub-range', () => {
  const pool = Pool.create({ bytes: 8 << 20 });
  let a: Peer;
  let b: Peer;
  let subKey: number;
  beforeAll(async () => {
    [a, b] = await startPeers(pool, 2, 4 * 4096);
    const sub = await b.actor.call(b.domain, 'registerDmaBuf', b.dmabuf, { access: ['remoteWrite', 'remoteRead'], offset: 5000, length: 1000 });
    subKey = await b.actor.helper('get', sub, 'key');
  });
  afterAll(async () => stopPeers([a, b]));

  it('addresses remote offset 0 at the registered offset', async () => {
    pool.u8(b.offset, 4 * 4096).fill(0);
    pool.u8(a.offset, 1000).fill(7);
    await a.actor.call(a.ep, 'write', { mr: a.mr, length: 1000, dest: 1, remoteOffset: 0, key: subKey });
    expect(await a.actor.call(a.cq, 'read', 1)).toHaveLength(1);
    const dst = pool.u8(b.offset, 4 * 4096);
    expect(dst[4999]).toBe(0);
    expect(dst.subarray(5000, 6000).every((x) => x === 7)).toBe(true);
    expect(dst[6000]).toBe(0);
  });

  it('never exposes the rest of the buffer through the sub-range key', async () => {
    await a.actor.call(a.ep, 'write', { mr: a.mr, length: 1000, dest: 1, remoteOffset: 1, key: subKey, context: 'past-end' });
    expect(await a.actor.call(a.cq, 'readErr')).toMatchObject({ code: 'EACCES', context: 'past-end', message: expect.stringMatching(/outside the 1000-byte region/) });
    await expect(b.actor.call(b.domain, 'registerDmaBuf', b.dmabuf, { access: ['remoteWrite'], offset: 16000, length: 1000 })).rejects.toThrow(/region \[16000, 17000\) exceeds the 16384-byte dma-buf/);
    await expect(b.actor.call(b.domain, 'registerDmaBuf', b.dmabuf, { access: ['teleport'] })).rejects.toThrow(/options.access has unknown flag 'teleport'/);
  });
});
