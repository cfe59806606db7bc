import { readFileSync, readlinkSync } from 'node:fs';
import { hostname } from 'node:os';

/** Which box a process runs on, as the bootstrap compares it. */
export interface HostIdentity {
  hostname: string;
  /** equal for two processes exactly when they share a box */
  hostId: string;
}

function readOr(read: () => string): string {
  try {
    return read().trim();
  } catch {
    return '';
  }
}

/**
 * Host name alone would merge two containers or network namespaces that share
 * one: the id adds the kernel's boot id and the network namespace, so
 * processes that can reach each other over loopback are the ones grouped.
 * COLLECTIVE_HOST_ID overrides it (tests that play several hosts, or a site
 * that knows better).
 */
export function hostIdentity(env: Readonly<Record<string, string | undefined>> = process.env): HostIdentity {
  const name = hostname();
  const override = env.COLLECTIVE_HOST_ID?.trim();
  if (override) return { hostname: name, hostId: override };
  const boot = readOr(() => readFileSync('/proc/sys/kernel/random/boot_id', 'utf8'));
  const netns = readOr(() => readlinkSync('/proc/self/ns/net')).replace(/^net:\[(\d+)\]$/, '$1');
  return { hostname: name, hostId: [name, boot, netns].filter((p) => p !== '').join('/') };
}
