import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import { StoreError } from './store.js';

export interface StoreListenOptions {
  /** how messages name the address: 'MASTER_ADDR=10.0.0.1', '--master-addr node7', ... */
  label: string;
  /** the job spans several machines: a loopback address would shut the others out */
  multiNode?: boolean;
  /** how to ask for every interface instead, for messages: 'COLLECTIVE_STORE_LISTEN=any' */
  anyHint: string;
}

const LOOPBACK_NAME = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/i;

/**
 * The address a store server listens on: the one `host` names, when it is an
 * address of this machine, so the store is reachable only where the job said
 * it is. A host name is resolved (dns.lookup) and its first address that is
 * this machine's wins, an interface's over a loopback one. Anything else is
 * an error that says what to do; listening on every interface is only ever
 * the caller's explicit choice.
 */
export async function storeListenAddress(host: string, options: StoreListenOptions): Promise<string> {
  let addresses: string[];
  if (isIP(host)) addresses = [host];
  else {
    try {
      // Bounded by the system resolver (resolv.conf's timeout and attempts).
      addresses = (await lookup(host, { all: true, verbatim: true })).map((a) => a.address);
    } catch (e) {
      throw new StoreError('ENOENT', `${options.label} does not resolve on this machine (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}), so the store cannot listen there; give an address of this machine, or ${options.anyHint} to listen on every interface`);
    }
  }
  const mine = localAddresses();
  const local = addresses.filter((a) => isLocal(a, mine));
  const chosen = local.find((a) => !isLoopback(a)) ?? local[0];
  if (chosen === undefined) {
    const all = [...mine].filter((a) => !a.startsWith('fe80:')).join(', ');
    throw new StoreError(
      'EINVAL',
      `${options.label}${isIP(host) ? '' : ` (${addresses.join(', ')})`} is not an address of this machine (${all}), so the store cannot listen there; run the process that hosts the store on that machine, give one of its addresses, or ${options.anyHint} to listen on every interface`,
    );
  }
  if (options.multiNode && isLoopback(chosen) && !LOOPBACK_NAME.test(host)) {
    // Debian-style /etc/hosts maps the host's own name to 127.0.1.1: the other nodes could never connect.
    throw new StoreError(
      'EINVAL',
      `${options.label} resolves to ${chosen} on this machine, a loopback address the job's other nodes cannot reach; give the address of the interface they reach this machine by, or ${options.anyHint} to listen on every interface`,
    );
  }
  return chosen;
}

function localAddresses(): Set<string> {
  const out = new Set<string>();
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) out.add(a.address);
  return out;
}

const unscoped = (a: string): string => a.replace(/%.*$/, '').toLowerCase();
const isLoopback = (a: string): boolean => /^127\./.test(a) || unscoped(a) === '::1';
/** The whole of 127/8 is this machine's, though only 127.0.0.1 is listed. */
const isLocal = (a: string, mine: Set<string>): boolean => isLoopback(a) || mine.has(unscoped(a)) || mine.has(a);
