import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Pool } from '../src/index.js';
import { type Peer, startPeers, stopPeers } from './helpers/fabric_peers.js';

describe('full queues answer EAGAIN', () => {
  const pool = Pool.create({ bytes: 8 << 20 });
  let a: Peer;
  let b: Peer;
  beforeAll(async () => {
    [a, b] = await startPeers(pool, 2, 8192, ['read', 'write', 'remoteRead', 'remoteWrite'], 2);
  });
  afterAll(async () => stopPeers([a, b]));

  it('when the local completion queue is full', async () => {
    const op = { mr: a.mr, length: 8, dest: 1, remoteOffset: 0, key: b.key };
    await a.actor.call(a.ep, 'write', op);
    await a.actor.call(a.ep, 'write', op);
    await expect(a.actor.call(a.ep, 'write', op)).rejects.toMatchObject({ code: 'EAGAIN' });
    expect(await a.actor.call(a.cq, 'read', 8)).toHaveLength(2);
    await a.actor.call(a.ep, 'write', op);
    expect(await a.actor.call(a.cq, 'read', 8)).toHaveLength(1);
  });

  it('when the target has no receive slot left, and recovers once it drains', async () => {
    let sent = 0;
    for (;;) {
      try {
        await a.actor.call(a.ep, 'tsend', 1, 5, sent);
      } catch (e) {
        expect(e).toMatchObject({ code: 'EAGAIN' });
        break;
      }
      sent++;
      await a.actor.call(a.cq, 'read', 8);
    }
    expect(sent).toBe(64);
    const got: number[] = [];
    while (got.length < sent) {
      await b.actor.call(b.ep, 'trecv', 5);
      got.push(...(await b.actor.call(b.cq, 'read', 1)).map((c: { message: number }) => c.message));
    }
    expect(got).toEqual([...Array(64).keys()]);
    await a.actor.call(a.ep, 'tsend', 1, 5, 'after');
  });
});
