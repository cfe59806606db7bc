import { describe, expect, it } from 'vitest';
import { Fabric, getInfo, Pool, selectProvider } from '../src/index.js';

describe('getInfo and provider selection', () => {
  it('offers shm with RMA, tagged, remote CQ data and dma-buf MRs', () => {
    const [info] = getInfo({ caps: ['rma', 'tagged', 'remote-cq-data', 'dmabuf-mr'] });
    expect(info?.provider).toBe('shm');
    expect(info!.maxMessageSize).toBeGreaterThan(1000);
  });

  it('says clearly when hints cannot be met', () => {
    expect(() => getInfo({ provider: 'tcp', caps: ['atomics' as never] })).toThrow(/ENOENT: no provider 'tcp' offers caps/);
    expect(() => getInfo({ provider: 'ib' as never })).toThrow(/hints.provider must be 'shm' or 'tcp'/);
  });

  it('connects shm endpoints of one pool and refuses endpoints of another process or pool', () => {
    const a = { provider: 'shm' as const, pool: 1, identity: 'pool-1', slot: 0, gen: 1 };
    expect(selectProvider(a, { ...a, slot: 1 }).name).toBe('shm');
    expect(() => selectProvider(a, { ...a, pool: 2, identity: 'pool-2' })).toThrow(/ENOTCONN: no provider can connect shm:1 to shm:2/);
    const poolA = Pool.create({ bytes: 1 << 20 });
    const poolB = Pool.create({ bytes: 1 << 20 });
    const av = Fabric.open(getInfo()[0]!).domain(poolA).av();
    const epB = Fabric.open(getInfo()[0]!).domain(poolB).endpoint();
    expect(() => av.insert(epB.address)).toThrow(/ENOTCONN/);
  });
});
