import { afterEach, describe, expect, it } from 'vitest';
import { Device, Fence, PAGE_SIZE, Pool, SyncFile, Usage } from '../src/index.js';
import { Actor } from './helpers/actor.js';

describe('sync files', () => {
  const actors: Actor[] = [];
  afterEach(async () => {
    await Promise.all(actors.splice(0).map((a) => a.stop()));
  });

  it('snapshots only writers for READ and every implicit fence for WRITE', () => {
    const pool = Pool.create({ bytes: 1 << 20 });
    const dev = Device.open(pool, 0);
    const resv = dev.reservation(dev.allocate(PAGE_SIZE));
    const kernel = Fence.create(pool);
    const write = Fence.create(pool);
    const read = Fence.create(pool);
    const book = Fence.create(pool);
    resv.add(kernel, Usage.KERNEL);
    resv.add(write, Usage.WRITE);
    resv.add(read, Usage.READ);
    resv.add(book, Usage.BOOKKEEP);
    const slots = (sf: SyncFile) => sf.fences.map((f) => f.slot).sort();
    expect(slots(resv.exportSyncFile('read'))).toEqual([kernel.id.slot, write.id.slot].sort());
    expect(slots(resv.exportSyncFile('write'))).toEqual([kernel.id.slot, write.id.slot, read.id.slot].sort());
    expect(slots(resv.exportSyncFile('rw'))).toEqual(slots(resv.exportSyncFile('write')));
  });

  it('travels to another worker, is waited on there, and imports at the asked usage', async () => {
    const pool = Pool.create({ bytes: 1 << 20 });
    const dev = Device.open(pool, 0);
    const src = dev.allocate(PAGE_SIZE);
    const dst = dev.allocate(PAGE_SIZE);
    const write = Fence.create(pool);
    dev.reservation(src).add(write, Usage.WRITE);
    const sf = dev.reservation(src).exportSyncFile('read');

    const other = Actor.start(pool);
    actors.push(other);
    const remote = await other.call('$SyncFile', 'from', '$pool', sf.descriptor);
    expect(await other.helper('get', remote, 'signaled')).toBe(false);
    await expect(other.call(remote, 'wait', 20)).rejects.toMatchObject({ code: 'ETIMEDOUT' });

    // Imported for read: later writers of dst wait for it, readers of dst do not.
    dev.reservation(dst).importSyncFile(sf, 'read');
    expect(dev.reservation(dst).test(Usage.WRITE)).toBe(true);
    expect(dev.reservation(dst).test(Usage.READ)).toBe(false);
    write.signal();
    await other.call(remote, 'wait', 1000);
    expect(dev.reservation(dst).test(Usage.BOOKKEEP)).toBe(true);
  });

  it('rejects descriptors from another pool or of the wrong shape', () => {
    const a = Pool.create({ bytes: 1 << 20 });
    const b = Pool.create({ bytes: 1 << 20 });
    const sf = SyncFile.fromFences(a, [Fence.create(a)]);
    expect(() => SyncFile.from(b, sf.descriptor)).toThrow(/another pool/);
    expect(() => SyncFile.from(b, {} as never)).toThrow(/not a sync file descriptor/);
    const dev = Device.open(a, 0);
    const resv = dev.reservation(dev.allocate(PAGE_SIZE));
    expect(() => resv.exportSyncFile('all' as never)).toThrow(/sync file mode must be 'read', 'write' or 'rw'/);
    expect(() => resv.importSyncFile(sf, 'rw' as never)).toThrow(/import mode must be 'read' or 'write'/);
  });
});
