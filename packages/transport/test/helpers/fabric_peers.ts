import type { Pool } from '../../src/index.js';
import { Actor, type Ref } from './actor.js';

export interface Peer {
  actor: Actor;
  dev: Ref;
  buf: Ref;
  dmabuf: Ref;
  domain: Ref;
  cq: Ref;
  av: Ref;
  ep: Ref;
  mr: Ref;
  counter: Ref;
  address: unknown;
  key: number;
  /** pool offset of the peer's buffer, readable from the test thread */
  offset: number;
}

/** Starts `n` workers, each with an enabled endpoint, a registered buffer, and every peer in its AV (fi_addr = rank). */
export async function startPeers(pool: Pool, n: number, bytes: number, access: string[] = ['read', 'write', 'remoteRead', 'remoteWrite'], cqSize?: number): Promise<Peer[]> {
  const peers: Peer[] = [];
  for (let i = 0; i < n; i++) {
    const actor = Actor.start(pool);
    peers.push({ actor, ...(await actor.helper('fabricPeer', i, bytes, access, cqSize)) });
  }
  for (const p of peers) {
    for (const q of peers) await p.actor.call(p.av, 'insert', q.address);
  }
  return peers;
}

export async function stopPeers(peers: Peer[]): Promise<void> {
  await Promise.all(peers.map((p) => p.actor.stop()));
}
