import { readFileSync, readlinkSync } from 'node:fs';
import { fail } from '../../errors.js';
import type { Reach } from './wire.js';

/** auto (Unix sockets between processes of one host, tcp between hosts), tcp, or unix. */
export const SOCKET_TRANSPORT_ENV = 'COLLECTIVE_SOCKET_TRANSPORT';

export type TransportChoice = 'auto' | 'tcp' | 'unix';
export function transportChoice(env: string | undefined = process.env[SOCKET_TRANSPORT_ENV]): TransportChoice {
  if (env === undefined || env === '') return 'auto';
  if (env !== 'auto' && env !== 'tcp' && env !== 'unix') fail('EINVAL', `${SOCKET_TRANSPORT_ENV} must be auto, tcp or unix (got ${env})`);
  return env;
}

/**
 * This host as peers must see it to pick a Unix socket: the boot and the
 * network namespace (abstract Unix sockets are per network namespace, and
 * the test "hosts" are namespaces of one machine).
 */
export function hostIdentity(): string {
  try {
    const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim().slice(0, 8);
    const netns = /\[(\d+)\]/.exec(readlinkSync('/proc/self/ns/net'))?.[1] ?? '';
    return `${boot}.${netns}`;
  } catch {
    // Without /proc (macOS) a host name is the best guess; the Unix path still has to exist here.
    return `host.${process.env.HOSTNAME ?? ''}`.slice(0, 50);
  }
}

/** Whether the dial to `peer` goes over its Unix socket. */
export function viaUnix(self: Pick<Reach, 'hostId'>, peer: Pick<Reach, 'hostId' | 'unix'>, choice: TransportChoice): boolean {
  if (choice === 'tcp') return false;
  const same = peer.unix !== '' && peer.hostId === self.hostId;
  if (choice === 'unix' && !same) fail('EINVAL', `${SOCKET_TRANSPORT_ENV}=unix, but the peer is on another host (or network namespace); use auto or tcp`);
  return same;
}

export const unixPath = (text: string): string => (text.startsWith('@') ? `\0${text.slice(1)}` : text);

