import { afterEach, describe, expect, it } from 'vitest';
import { Device, DmaBuf, PAGE_SIZE, Pool } from '../src/index.js';
import { Actor } from './helpers/actor.js';

describe('bad input gets a clear error', () => {
  const actors: Actor[] = [];
  afterEach(async () => {
    await Promise.all(actors.splice(0).map((a) => a.stop()));
  });

  it('unaligned or empty sizes', () => {
    const dev = Device.open(Pool.create({ bytes: 1 << 20 }), 0);
    expect(() => dev.allocate(1000)).toThrow(/EINVAL: size must be a positive multiple of 4096 bytes \(got 1000\)/);
    expect(() => dev.allocate(0)).toThrow(/positive multiple/);
    expect(() => dev.allocate(-PAGE_SIZE)).toThrow(/positive multiple/);
    expect(() => dev.allocate(2 << 20)).toThrow(/ENOMEM: no 2097152-byte contiguous range/);
  });

  it('bad pool options', () => {
    expect(() => Pool.create({ bytes: 1000 })).toThrow(/options.bytes must be a multiple of 65536/);
    expect(() => Pool.create({ bytes: 1 << 20, capacities: { devices: 0 } })).toThrow(/options.capacities.devices must be a positive integer/);
    expect(() => Pool.attach({} as never)).toThrow(/needs the descriptor returned by pool.describe/);
  });

  it('double release, in another worker too', async () => {
    const pool = Pool.create({ bytes: 1 << 20 });
    const dev = Device.open(pool, 0);
    const exported = dev.export(dev.allocate(PAGE_SIZE));
    const worker = Actor.start(pool);
    actors.push(worker);
    const imported = await worker.call('$DmaBuf', 'import', '$pool', exported.handle);
    await worker.call(imported, 'release');
    await expect(worker.call(imported, 'release')).rejects.toThrow(/already released/);
    exported.release();
    expect(() => exported.release()).toThrow(/EINVAL: dma-buf reference was already released/);
    // Every reference is gone, so the handle itself is now stale.
    await expect(worker.call('$DmaBuf', 'import', '$pool', exported.handle)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('map after detach, unmap twice, detach while mapped', () => {
    const pool = Pool.create({ bytes: 1 << 20 });
    const dev = Device.open(pool, 0);
    const exported = dev.export(dev.allocate(PAGE_SIZE));
    const att = exported.attach();
    const m = att.map();
    expect(() => att.detach()).toThrow(/EBUSY: attachment still has 1 mapping/);
    att.unmap(m);
    expect(() => att.unmap(m)).toThrow(/already unmapped/);
    expect(() => att.beginCpuAccess(m)).toThrow(/unmapped; map again/);
    att.detach();
    expect(() => att.map()).toThrow(/EINVAL: attachment is detached/);
    expect(() => att.detach()).toThrow(/detached/);
    expect(() => exported.attach({ dynamic: true })).toThrow(/options.invalidateMappings must be a function/);
  });

  it('foreign and forged handles', async () => {
    const poolA = Pool.create({ bytes: 1 << 20 });
    const poolB = Pool.create({ bytes: 1 << 20 });
    const devA = Device.open(poolA, 0);
    const exported = devA.export(devA.allocate(PAGE_SIZE));
    expect(() => DmaBuf.import(poolB, exported.handle)).toThrow(/EINVAL: dma-buf handle belongs to another pool/);
    const worker = Actor.start(poolB);
    actors.push(worker);
    await expect(worker.call('$DmaBuf', 'import', '$pool', exported.handle)).rejects.toMatchObject({
      code: 'EINVAL',
      message: expect.stringMatching(/another pool/),
    });
    expect(() => DmaBuf.import(poolA, { kind: 'dmabuf', pool: poolA.id, slot: 99, gen: 1, size: PAGE_SIZE })).toThrow(/ENOENT: dma-buf handle is stale/);
    expect(() => DmaBuf.import(poolA, { slot: 0 } as never)).toThrow(/not a dma-buf handle/);
    expect(() => DmaBuf.import(poolA, { ...exported.handle, gen: exported.handle.gen + 1 })).toThrow(/stale/);
  });

  it('use of a closed device or a foreign buffer', () => {
    const pool = Pool.create({ bytes: 1 << 20 });
    const a = Device.open(pool, 0);
    const b = Device.open(pool, 1);
    const buf = a.allocate(PAGE_SIZE);
    expect(() => b.export(buf)).toThrow(/buffer does not belong to device 1/);
    a.free(buf);
    expect(() => a.view(buf)).toThrow(/buffer has been freed/);
    a.close();
    expect(() => a.allocate(PAGE_SIZE)).toThrow(/device 0 is closed/);
    expect(() => a.close()).toThrow(/closed/);
  });
});
