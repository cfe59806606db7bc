import { describe, expect, it } from 'vitest';
import { Fabric, getInfo, Pool, selectProvider } from '../src/index.js';

const tcp = (pool: number, process: string, port = 4000, identity = String(pool).padStart(32, '0')) => ({ provider: 'tcp' as const, pool, identity, slot: 0, gen: 1, host: '127.0.0.1', port, process });

describe('the tcp provider in the provider table', () => {
  it('is offered by getInfo after shm, with RMA, tagged messages, remote CQ data and dma-buf MRs', () => {
    expect(getInfo().map((i) => i.provider)).toEqual(['shm', 'tcp']);
    const [info] = getInfo({ provider: 'tcp', caps: ['rma', 'tagged', 'remote-cq-data', 'dmabuf-mr'] });
    expect(info).toMatchObject({ provider: 'tcp', maxMessageSize: 16384 });
  });

  it('connects tcp endpoints of different processes; one process stays on shm', () => {
    expect(selectProvider(tcp(1, '10.aa'), tcp(2, '11.bb')).name).toBe('tcp');
    expect(() => selectProvider(tcp(1, '10.aa'), tcp(1, '10.aa', 4001))).toThrow(/ENOTCONN: no provider can connect tcp:1 to tcp:1/);
    expect(() => selectProvider({ provider: 'shm', pool: 1, identity: 'pool-1', slot: 0, gen: 1 }, tcp(2, '11.bb'))).toThrow(/ENOTCONN/);
    expect(selectProvider({ provider: 'shm', pool: 1, identity: 'pool-1', slot: 0, gen: 1 }, { provider: 'shm', pool: 1, identity: 'pool-1', slot: 1, gen: 1 }).name).toBe('shm');
  });

  it('tells processes apart by pool identity, not by the 31-bit pool id (review F13)', () => {
    // Two processes whose pools drew the same id: tcp between them, never shm.
    expect(selectProvider(tcp(7, '10.aa', 4000, 'identity-a'), tcp(7, '11.bb', 4000, 'identity-b')).name).toBe('tcp');
    expect(() => selectProvider({ provider: 'shm', pool: 7, identity: 'identity-a', slot: 0, gen: 1 }, { provider: 'shm', pool: 7, identity: 'identity-b', slot: 1, gen: 1 })).toThrow(/ENOTCONN/);
    const a = Pool.create({ bytes: 1 << 20 });
    const b = Pool.create({ bytes: 1 << 20 });
    expect(a.identity).toMatch(/^[0-9a-f]{32}$/);
    expect(a.identity).not.toBe(b.identity);
    expect(Pool.attach(a.describe()).identity).toBe(a.identity);
  });

  it('has address vectors accept tcp addresses of other processes only, and refuse malformed ones', () => {
    const pool = Pool.create({ bytes: 1 << 20 });
    const domain = Fabric.open(getInfo({ provider: 'tcp' })[0]!).domain(pool);
    const av = domain.av();
    expect(av.insert(tcp(pool.id + 1, '77.abc'))).toBe(0);
    expect(() => av.insert(tcp(pool.id, '77.abc', 4000, pool.identity))).toThrow(/ENOTCONN/);
    expect(() => av.insert({ provider: 'shm', pool: pool.id + 1, identity: 'f'.repeat(32), slot: 0, gen: 1 })).toThrow(/ENOTCONN/);
    expect(() => av.insert({ ...tcp(pool.id + 1, '77.abc'), port: 0 })).toThrow(/EINVAL: tcp address .* port must be an integer in \[1, 65535\]/);
    expect(() => av.insert({ ...tcp(pool.id + 1, '77.abc'), host: undefined })).toThrow(/host must be an IP address literal/);
    expect(() => av.insert({ ...tcp(pool.id + 1, 'x') })).toThrow(/process must be the peer listener's identity/);
    expect(() => av.insert({ ...tcp(pool.id + 1, '77.abc'), identity: 'x' })).toThrow(/identity must be the peer pool's identity, 32 hex digits \(got "x"\)/);
    av.close();
    domain.close();
  });
});
