import { spawnSync } from 'node:child_process';

/**
 * Two "hosts" on one machine: network namespaces joined by a veth pair, each
 * with its own loopback and one address on a /24 that exists only inside them.
 * Needs root and iproute2; everything is created by create() and removed by
 * remove(), nothing is left in the test's own namespace.
 */
export interface NetnsPair {
  /** namespace names, `cr<pid>a` and `cr<pid>b` */
  names: [string, string];
  /** address of each namespace's end of the veth pair */
  addresses: [string, string];
  /** the veth end's name inside each namespace */
  veth: string;
}

const IP_TIMEOUT_MS = 10_000;
/** How long a new veth pair may take to come up (the kernel's link watch sets the operational state up to a second later). */
const LINK_UP_TIMEOUT_MS = 10_000;

function ip(args: readonly string[]): { ok: boolean; out: string; why: string } {
  const r = spawnSync('ip', args, { encoding: 'utf8', timeout: IP_TIMEOUT_MS });
  if (r.error) return { ok: false, out: '', why: (r.error as NodeJS.ErrnoException).code === 'ENOENT' ? "'ip' not found (apt-get install iproute2)" : r.error.message };
  return { ok: r.status === 0, out: r.stdout, why: (r.stderr || `exit code ${r.status}`).trim() };
}

function mustIp(args: readonly string[]): string {
  const r = ip(args);
  if (!r.ok) throw new Error(`ip ${args.join(' ')} failed: ${r.why}`);
  return r.out;
}

/** Why namespaces cannot be made here (not root, no iproute2, no CAP_SYS_ADMIN), or undefined when a probe namespace could be added and deleted. */
export function netnsUnavailable(probe: string): string | undefined {
  const r = ip(['netns', 'add', probe]);
  if (!r.ok) return `ip netns add ${probe} failed: ${r.why}`;
  const d = ip(['netns', 'delete', probe]);
  return d.ok ? undefined : `ip netns delete ${probe} failed: ${d.why}`;
}

/** The pair for this process; names from the pid, so two test runs on one machine never share one. */
export function netnsPair(pid: number = process.pid): NetnsPair {
  const net = `10.231.${(pid % 250) + 1}`;
  return { names: [`cr${pid}a`, `cr${pid}b`], addresses: [`${net}.1`, `${net}.2`], veth: 'veth0' };
}

/** Operational state UP is what sets IFF_RUNNING; carrier alone (LOWER_UP) comes earlier. */
function operUp(ns: string, veth: string): boolean {
  const [link] = JSON.parse(mustIp(['-n', ns, '-j', 'link', 'show', 'dev', veth])) as { operstate?: string }[];
  return link?.operstate === 'UP';
}

/**
 * Creates both namespaces, the veth pair between them, addresses and links
 * up, and waits until both ends are operationally up: until then Node's
 * networkInterfaces() leaves the link out (libuv lists running interfaces
 * only), as a real host's would be before its link came up.
 * On a failure removes what it made and throws.
 */
export async function createNetnsPair(pair: NetnsPair): Promise<void> {
  const [a, b] = pair.names;
  // A namespace left by an earlier run that had this pid (and was killed) is stale: this pid is ours now.
  removeNetnsPair(pair);
  try {
    mustIp(['netns', 'add', a]);
    mustIp(['netns', 'add', b]);
    // Both ends are created directly inside the namespaces: no name ever appears in the test's own namespace.
    mustIp(['link', 'add', pair.veth, 'netns', a, 'type', 'veth', 'peer', 'name', pair.veth, 'netns', b]);
    for (const [i, ns] of pair.names.entries()) {
      mustIp(['-n', ns, 'addr', 'add', `${pair.addresses[i]}/24`, 'dev', pair.veth]);
      mustIp(['-n', ns, 'link', 'set', 'lo', 'up']);
      mustIp(['-n', ns, 'link', 'set', pair.veth, 'up']);
    }
    const deadline = performance.now() + LINK_UP_TIMEOUT_MS;
    while (!pair.names.every((ns) => operUp(ns, pair.veth))) {
      if (performance.now() > deadline) throw new Error(`the veth pair ${a}/${pair.veth} <-> ${b}/${pair.veth} is not operationally up after ${LINK_UP_TIMEOUT_MS} ms`);
      await new Promise((r) => setTimeout(r, 20));
    }
  } catch (e) {
    const left = removeNetnsPair(pair);
    throw new Error(`${(e as Error).message}${left.length > 0 ? `; cleanup also failed: ${left.join('; ')}` : ''}`);
  }
}

/** Deletes both namespaces (the veth pair goes with them); returns what could not be removed, [] when all is gone. */
export function removeNetnsPair(pair: NetnsPair): string[] {
  const listed = ip(['netns', 'list']);
  const present = new Set(listed.ok ? listed.out.split('\n').map((l) => l.split(' ')[0]) : pair.names);
  const left: string[] = [];
  for (const ns of pair.names) {
    if (!present.has(ns)) continue;
    const r = ip(['netns', 'delete', ns]);
    if (!r.ok) left.push(`ip netns delete ${ns}: ${r.why}`);
  }
  return left;
}

/** Bytes the veth end inside `ns` has sent and received so far. */
export function vethBytes(ns: string, veth: string): { tx: number; rx: number } {
  const out = mustIp(['-n', ns, '-s', '-j', 'link', 'show', 'dev', veth]);
  const [link] = JSON.parse(out) as { stats64?: { tx: { bytes: number }; rx: { bytes: number } } }[];
  if (!link?.stats64) throw new Error(`ip -n ${ns} -s -j link show dev ${veth} gave no stats64: ${out}`);
  return { tx: link.stats64.tx.bytes, rx: link.stats64.rx.bytes };
}
