import { afterEach, describe, expect, it } from 'vitest';
import { Device, Fence, PAGE_SIZE, Pool, Usage, usageFor } from '../src/index.js';
import { Actor } from './helpers/actor.js';

describe('reservation object', () => {
  const actors: Actor[] = [];
  afterEach(async () => {
    await Promise.all(actors.splice(0).map((a) => a.stop()));
  });

  it('makes a reader in another worker wait for a pending write fence', async () => {
    const pool = Pool.create({ bytes: 1 << 20 });
    const dev = Device.open(pool, 0);
    const buf = dev.allocate(PAGE_SIZE);
    const exported = dev.export(buf);
    const write = Fence.create(pool);
    dev.reservation(buf).add(write, Usage.WRITE);

    const reader = Actor.start(pool);
    actors.push(reader);
    const imported = await reader.call('$DmaBuf', 'import', '$pool', exported.handle);
    const resv = await reader.call(imported, 'reservation');
    setTimeout(() => write.signal(), 150);
    const waited = await reader.helper('timedWait', resv, usageFor('read'), 5000);
    expect(waited).toBeGreaterThanOrEqual(100);
    expect(write.signaled).toBe(true);
  });

  it('lets readers pass pending read fences while writers and moves wait for them', () => {
    const pool = Pool.create({ bytes: 1 << 20 });
    const dev = Device.open(pool, 0);
    const buf = dev.allocate(PAGE_SIZE);
    const resv = dev.reservation(buf);
    const read = Fence.create(pool);
    const book = Fence.create(pool);
    resv.add(read, Usage.READ);
    resv.add(book, Usage.BOOKKEEP);
    expect(resv.test(usageFor('read'))).toBe(true);
    expect(() => resv.wait(usageFor('write'), 20)).toThrow(/ETIMEDOUT/);
    read.signal();
    resv.wait(usageFor('write'), 0);
    expect(() => dev.move(buf, { timeoutMs: 20 })).toThrow(/ETIMEDOUT/);
    expect(() => dev.free(buf, { timeoutMs: 20 })).toThrow(/ETIMEDOUT/);
    book.signal();
    dev.move(buf);
    dev.free(buf);
  });

  it('never lets any access skip a KERNEL fence', () => {
    const pool = Pool.create({ bytes: 1 << 20 });
    const dev = Device.open(pool, 0);
    const buf = dev.allocate(PAGE_SIZE);
    const kernel = Fence.create(pool);
    dev.reservation(buf).add(kernel, Usage.KERNEL);
    for (const access of ['read', 'write', 'move'] as const) {
      expect(dev.reservation(buf).test(usageFor(access))).toBe(false);
    }
    kernel.signal();
    expect(dev.reservation(buf).test(Usage.KERNEL)).toBe(true);
  });

  it('reports a fence completed with an error to its waiters', () => {
    const pool = Pool.create({ bytes: 1 << 20 });
    const f = Fence.create(pool);
    f.signalError('ECANCELED');
    expect(() => f.wait(10)).toThrow(/ECANCELED: fence \d+ completed with an error/);
    expect(() => f.signal()).toThrow(/already signalled/);
  });

  it('refuses fences beyond the per-buffer capacity with EAGAIN and reuses completed entries', () => {
    const pool = Pool.create({ bytes: 1 << 20, capacities: { fencesPerBuffer: 2 } });
    const dev = Device.open(pool, 0);
    const resv = dev.reservation(dev.allocate(PAGE_SIZE));
    const a = Fence.create(pool);
    resv.add(a, Usage.WRITE);
    resv.add(Fence.create(pool), Usage.WRITE);
    expect(() => resv.add(Fence.create(pool), Usage.READ)).toThrow(/EAGAIN/);
    a.signal();
    resv.add(Fence.create(pool), Usage.READ);
    expect(resv.fences(Usage.BOOKKEEP)).toHaveLength(2);
  });
});
