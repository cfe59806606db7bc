import { createSocket } from 'node:dgram';
import { isIP } from 'node:net';
import { networkInterfaces, type NetworkInterfaceInfo } from 'node:os';
import { fail } from '../../errors.js';

export const IFNAME_ENV = 'COLLECTIVE_SOCKET_IFNAME';

export interface ListenChoice {
  /** the address to listen on and to publish to peers */
  address: string;
  /** the interface it belongs to ('' when none does, e.g. 127.0.0.1 with no loopback listed) */
  name: string;
  /** why this one: for COLLECTIVE_DEBUG logs and error messages */
  why: string;
}

type Interfaces = NodeJS.Dict<NetworkInterfaceInfo[]>;

const usable = (i: NetworkInterfaceInfo): boolean => i.family === 'IPv4' || !i.address.toLowerCase().startsWith('fe80:');

/** "lo (127.0.0.1, ::1), eth0 (192.0.2.2)": for errors that must list what there is. */
export function listInterfaces(interfaces: Interfaces): string {
  const parts = Object.entries(interfaces).map(([name, list]) => `${name} (${(list ?? []).map((i) => i.address).join(', ') || 'no address'})`);
  return parts.length > 0 ? parts.join(', ') : 'none';
}

/** The best address of one interface: IPv4 first, then a routable IPv6 one (link-local needs a scope id peers cannot use). */
function addressOf(list: NetworkInterfaceInfo[]): string | undefined {
  return (list.find((i) => i.family === 'IPv4') ?? list.find(usable))?.address;
}

/**
 * Picks the listen address, as NCCL and Gloo do: COLLECTIVE_SOCKET_IFNAME
 * (an exact interface name, else a prefix: "eth" takes eth0), else the
 * address that routes to MASTER_ADDR (found by the caller, `routed`), else
 * the first non-internal IPv4 address, else 127.0.0.1.
 */
export function chooseListenAddress(ifname: string | undefined, routed: string | undefined, interfaces: Interfaces = networkInterfaces()): ListenChoice {
  if (ifname !== undefined && ifname !== '') {
    const names = Object.keys(interfaces);
    const exact = names.filter((n) => n === ifname);
    const matched = exact.length > 0 ? exact : names.filter((n) => n.startsWith(ifname));
    for (const name of matched) {
      const address = addressOf(interfaces[name] ?? []);
      if (address) return { address, name, why: `${IFNAME_ENV}=${ifname}` };
    }
    fail('EINVAL', `${IFNAME_ENV}=${ifname} matches no interface with a usable address (as a name or a prefix); interfaces: ${listInterfaces(interfaces)}`);
  }
  if (routed) {
    const name = Object.entries(interfaces).find(([, list]) => (list ?? []).some((i) => i.address === routed))?.[0] ?? '';
    return { address: routed, name, why: 'routes to MASTER_ADDR' };
  }
  for (const [name, list] of Object.entries(interfaces)) {
    const v4 = (list ?? []).find((i) => i.family === 'IPv4' && !i.internal);
    if (v4) return { address: v4.address, name, why: 'first non-internal IPv4 interface' };
  }
  const lo = Object.entries(interfaces).find(([, list]) => (list ?? []).some((i) => i.address === '127.0.0.1'))?.[0] ?? '';
  return { address: '127.0.0.1', name: lo, why: 'no non-internal IPv4 interface' };
}

/**
 * The local address the kernel would use to reach `host`: a connected UDP
 * socket sends nothing but gets a source address from the routing table.
 * Undefined when the host does not resolve or has no route.
 */
export function routeTo(host: string, timeoutMs = 2000): Promise<string | undefined> {
  const family = isIP(host) === 6 || (isIP(host) === 0 && host.includes(':')) ? 'udp6' : 'udp4';
  return new Promise((resolve) => {
    const socket = createSocket(family);
    const done = (address: string | undefined) => {
      clearTimeout(timer);
      socket.close();
      resolve(address);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    socket.on('error', () => done(undefined));
    // Port 9 (discard): nothing is sent, connect() only consults the routing table.
    socket.connect(9, host, () => {
      try {
        done(socket.address().address);
      } catch {
        done(undefined);
      }
    });
  });
}

/** The listen address for this process's socket listener, from the environment. */
export async function listenAddressFromEnv(env: NodeJS.ProcessEnv = process.env): Promise<ListenChoice> {
  const ifname = env[IFNAME_ENV];
  const master = env.MASTER_ADDR;
  const routed = (ifname === undefined || ifname === '') && master ? await routeTo(master) : undefined;
  return chooseListenAddress(ifname, routed);
}
