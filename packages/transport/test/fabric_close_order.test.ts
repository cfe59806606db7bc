import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Pool } from '../src/index.js';
import { type Peer, startPeers, stopPeers } from './helpers/fabric_peers.js';

describe('close ordering', () => {
  const pool = Pool.create({ bytes: 8 << 20 });
  let a: Peer;
  let b: Peer;
  beforeAll(async () => {
    [a, b] = await startPeers(pool, 2, 8192);
  });
  afterAll(async () => stopPeers([a, b]));

  it('needs MRs closed before their endpoint, endpoints before CQ and domain; late RMA gets ECANCELED', async () => {
    await expect(b.actor.call(b.ep, 'close')).rejects.toMatchObject({ code: 'EBUSY', message: expect.stringMatching(/close them before the endpoint/) });
    await expect(b.actor.call(b.domain, 'close')).rejects.toMatchObject({ code: 'EBUSY' });
    await b.actor.call(b.mr, 'close');
    await expect(b.actor.call(b.mr, 'close')).rejects.toThrow(/already closed/);

    pool.u8(b.offset, 8192).fill(0);
    pool.u8(a.offset, 8192).fill(1);
    await a.actor.call(a.ep, 'write', { mr: a.mr, length: 64, dest: 1, remoteOffset: 0, key: b.key, context: 'late' });
    expect(await a.actor.call(a.cq, 'readErr')).toMatchObject({ code: 'ECANCELED', context: 'late' });
    expect(pool.u8(b.offset, 8192).every((x) => x === 0)).toBe(true);

    await expect(b.actor.call(b.cq, 'close')).rejects.toMatchObject({ code: 'EBUSY' });
    await b.actor.call(b.ep, 'close');
    await a.actor.call(a.ep, 'tsend', 1, 1, 'anyone there?', 'gone');
    expect(await a.actor.call(a.cq, 'readErr')).toMatchObject({ code: 'ENOTCONN', context: 'gone' });
    await b.actor.call(b.cq, 'close');
    await b.actor.call(b.av, 'close');
    await b.actor.call(b.counter, 'close');
    await b.actor.call(b.domain, 'close');
    await expect(b.actor.call(b.domain, 'endpoint')).rejects.toThrow(/domain is closed/);
  });
});
