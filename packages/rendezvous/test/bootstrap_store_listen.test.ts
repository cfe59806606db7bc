import { lookup } from 'node:dns/promises';
import { hostname, networkInterfaces } from 'node:os';
import { describe, expect, it } from 'vitest';
import { openLaunchStore, resolveLaunchEnv } from '@collective/rendezvous';
import { freePort } from './helpers/processes.js';

/** An IPv4 address of a non-loopback interface of this machine, if it has one. */
const iface = Object.values(networkInterfaces())
  .flat()
  .find((a) => a !== undefined && a.family === 'IPv4' && !a.internal)?.address;
const selfLoopback = await lookup(hostname()).then(
  (a) => (/^127\./.test(a.address) ? hostname() : undefined),
  () => undefined,
);

async function hostAs(env: Record<string, string>): Promise<string> {
  const launch = resolveLaunchEnv({ RANK: '0', WORLD_SIZE: '1', MASTER_PORT: String(await freePort()), ...env });
  const opened = await openLaunchStore(launch, { timeoutMs: 5_000, env: {} });
  try {
    return opened.server?.host ?? 'no server';
  } finally {
    await opened.close();
  }
}

// The store listened on every interface unless MASTER_ADDR was loopback (review 2, F1).
describe('the process that hosts the store listens on the address MASTER_ADDR names, not on every interface', () => {
  it.skipIf(iface === undefined)(`MASTER_ADDR=${iface}, an interface's address: the server listens there only`, async () => {
    expect(await hostAs({ MASTER_ADDR: iface as string })).toBe(iface);
  });

  it('loopback stays loopback, and COLLECTIVE_STORE_LISTEN=any or =ADDRESS is obeyed', async () => {
    expect(await hostAs({ MASTER_ADDR: 'localhost' })).toBe('127.0.0.1');
    expect(await hostAs({ MASTER_ADDR: '127.0.0.1', COLLECTIVE_STORE_LISTEN: 'any' })).toBe('::');
    expect(await hostAs({ MASTER_ADDR: 'localhost', COLLECTIVE_STORE_LISTEN: '127.0.0.2' })).toBe('127.0.0.2');
  });

  it('an address that is not this machine\'s fails, saying so and what to do', async () => {
    await expect(hostAs({ MASTER_ADDR: '203.0.113.7' })).rejects.toThrow(
      /EINVAL: rank 0 hosts the job's store .* but MASTER_ADDR=203\.0\.113\.7 is not an address of this machine \(.*127\.0\.0\.1.*\), so the store cannot listen there; .*set COLLECTIVE_STORE_LISTEN=any to listen on every interface/,
    );
    await expect(hostAs({ MASTER_ADDR: 'no-such-host.invalid' })).rejects.toThrow(/ENOENT: .*MASTER_ADDR=no-such-host\.invalid does not resolve on this machine/);
  });

  it.skipIf(selfLoopback === undefined)(`across nodes, a host name that resolves to loopback here (${selfLoopback}) fails: the other nodes could not reach it`, async () => {
    await expect(hostAs({ MASTER_ADDR: selfLoopback as string, WORLD_SIZE: '2', LOCAL_WORLD_SIZE: '1' })).rejects.toThrow(/resolves to 127\.[\d.]+ on this machine, a loopback address the job's other nodes cannot reach/);
  });
});
