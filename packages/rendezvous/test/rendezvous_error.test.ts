import { describe, expect, it } from 'vitest';
import { HashStore, RendezvousError, StoreError, expandNodelist, jobSecretFromEnv, resolveLaunchEnv } from '@collective/rendezvous';

// The package's own error class (it does not depend on the transport): every
// failure is a RendezvousError with an errno-like code that also opens its message.
describe('RendezvousError', () => {
  it("a store's timeout is a StoreError, a RendezvousError, with its code in front of the message", async () => {
    const store = new HashStore({ timeoutMs: 50 });
    const err = (await store.get('absent').catch((e: unknown) => e)) as StoreError;
    expect(err).toBeInstanceOf(StoreError);
    expect(err).toBeInstanceOf(RendezvousError);
    expect(err.code).toBe('ETIMEDOUT');
    expect(err.message.startsWith('ETIMEDOUT: ')).toBe(true);
    expect(err.keys).toEqual(['absent']);
    await store.close();
  });

  it("the launch environment's, the Slurm hostlist's and the job secret's errors are RendezvousErrors too", () => {
    const caught = (f: () => unknown): RendezvousError => {
      try {
        f();
      } catch (e) {
        return e as RendezvousError;
      }
      throw new Error('expected a throw');
    };
    const launch = caught(() => resolveLaunchEnv({ RANK: 'x', WORLD_SIZE: '2', MASTER_ADDR: '127.0.0.1', MASTER_PORT: '29500' }));
    const hosts = caught(() => expandNodelist('node[1-'));
    const secret = caught(() => jobSecretFromEnv({ COLLECTIVE_JOB_SECRET: 'short' }));
    for (const e of [launch, hosts, secret]) {
      expect(e).toBeInstanceOf(RendezvousError);
      expect(e.name).toBe('RendezvousError');
      expect(e.code).toBe('EINVAL');
      expect(e.message.startsWith('EINVAL: ')).toBe(true);
    }
  });
});
