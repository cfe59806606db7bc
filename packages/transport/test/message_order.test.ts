import { afterEach, describe, expect, it } from 'vitest';
import { Pool } from '../src/index.js';
import { type Peer, startPeers, stopPeers } from './helpers/fabric_peers.js';

describe('messages from one sender', () => {
  let peers: Peer[] = [];
  afterEach(async () => {
    await stopPeers(peers);
  });

  it('arrive in the order they were sent, even while the mailbox slots they land in are reused', async () => {
    const pool = Pool.create({ bytes: 16 << 20 });
    peers = await startPeers(pool, 2, 4096);
    const [a, b] = peers as [Peer, Peer];
    // Two senders in bursts, as a ring's data and credit signals go: slots are
    // freed and taken again while the receiver scans its mailbox.
    const results = await Promise.all([
      a.actor.helper('orderStress', a.ep, a.cq, a.mr, 1, b.key, 3000, 3),
      b.actor.helper('orderStress', b.ep, b.cq, b.mr, 0, a.key, 3000, 3),
    ]);
    expect(results).toEqual([0, 0]);
  });
});
