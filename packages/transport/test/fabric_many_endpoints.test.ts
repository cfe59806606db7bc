import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Pool } from '../src/index.js';
import { type Peer, startPeers, stopPeers } from './helpers/fabric_peers.js';

describe('8 endpoints on 2 cores', () => {
  const pool = Pool.create({ bytes: 16 << 20 });
  let peers: Peer[];
  beforeAll(async () => {
    peers = await startPeers(pool, 8, 8192);
  });
  afterAll(async () => stopPeers(peers));

  it('passes a token around the ring 20 times without starving anyone', async () => {
    const n = peers.length;
    const seen = await Promise.all(peers.map((p, r) => p.actor.helper('ring', p.ep, p.cq, r, n, (r + 1) % n, 20)));
    for (let r = 0; r < n; r++) {
      expect(seen[r]).toEqual(Array(20).fill(r === 0 ? n - 1 : r - 1));
    }
  });

  it('lets every endpoint write its rank into every other with writedata', async () => {
    const n = peers.length;
    await Promise.all(
      peers.map(async (p, r) => {
        pool.u8(p.offset + 4096, 8).fill(r + 1);
        for (let d = 0; d < n; d++) {
          await p.actor.call(p.ep, 'writedata', { mr: p.mr, offset: 4096, length: 8, dest: d, remoteOffset: r * 8, key: peers[d]!.key, data: r });
        }
      }),
    );
    for (const p of peers) {
      const got: number[] = [];
      while (got.length < n) got.push(...(await p.actor.call(p.cq, 'wait', 10_000, 64)).filter((c: { op: string }) => c.op === 'remote-write').map((c: { data: number }) => c.data));
      expect(got.sort((x, y) => x - y)).toEqual([...Array(n).keys()]);
      const region = pool.u8(p.offset, n * 8);
      for (let r = 0; r < n; r++) expect(region[r * 8]).toBe(r + 1);
    }
  });
});
