// A page's side of join_rendezvous.ts (package.json's "browser" map):
// a page is one process with no sockets, so there is no job to join.
import { TransportError } from '@collective/transport';
import type { Rendezvous, RendezvousOptions } from '@collective/rendezvous';

export type { Rendezvous, RendezvousOptions };

export async function rendezvous(_options: RendezvousOptions = {}): Promise<Rendezvous> {
  throw new TransportError('ENOTSUP', 'World.join needs Node: a web page is one process without sockets, so its World is World.start({ devices })');
}
