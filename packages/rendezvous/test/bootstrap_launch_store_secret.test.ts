import { afterEach, describe, expect, it } from 'vitest';
import { type LaunchStore, type StoreError, TCPStore, TCPStoreServer, openLaunchStore, resolveLaunchEnv, valueToString } from '@collective/rendezvous';
import { freePort } from './helpers/processes.js';

const SECRET = 'a job secret of more than sixteen characters';

describe('openLaunchStore with COLLECTIVE_JOB_SECRET', () => {
  const opened: { close(): Promise<void> }[] = [];
  afterEach(async () => {
    for (const o of opened.splice(0).reverse()) await o.close();
  });
  const open = async (env: Record<string, string>): Promise<LaunchStore> => {
    const s = await openLaunchStore(resolveLaunchEnv(env), { timeoutMs: 5_000, env });
    opened.push(s);
    return s;
  };

  it('rank 0 hosts a store that requires it; ranks with it join; a client without it is refused', async () => {
    const port = await freePort();
    const env = (rank: number) => ({ RANK: String(rank), WORLD_SIZE: '2', MASTER_ADDR: '127.0.0.1', MASTER_PORT: String(port), COLLECTIVE_JOB_SECRET: SECRET });
    const host = await open(env(0));
    const other = await open(env(1));
    await host.store.set('from-0', 'hello');
    expect(valueToString(await other.store.get('from-0'))).toBe('hello');
    const err = (await TCPStore.connect({ host: '127.0.0.1', port, timeoutMs: 2_000 }).catch((e: unknown) => e)) as StoreError;
    expect(err.message).toMatch(/closed the connection as soon as it opened/);
    expect(host.server?.stats.refused).toBeGreaterThan(0);
    // A rank with another secret learns only that it is refused.
    await expect(open({ ...env(1), COLLECTIVE_JOB_SECRET: 'another secret, also long enough' })).rejects.toThrow(/EACCES: rank 1: the TCPStore at 127\.0\.0\.1:\d+ did not complete the authentication/);
  });

  it("under torchrun's agent store (torch's server) the secret is not offered", async () => {
    const agent = await TCPStoreServer.start({ host: '127.0.0.1' });
    opened.push(agent);
    const worker = await open({ RANK: '1', WORLD_SIZE: '2', LOCAL_RANK: '1', MASTER_ADDR: '127.0.0.1', MASTER_PORT: String(agent.port), TORCHELASTIC_USE_AGENT_STORE: 'True', TORCHELASTIC_RESTART_COUNT: '0', COLLECTIVE_JOB_SECRET: SECRET });
    await worker.store.set('k', 'v');
    expect(agent.keyCount).toBe(1);
  });
});
