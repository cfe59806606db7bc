import { afterEach, describe, expect, it } from 'vitest';
import { Device, PAGE_SIZE, Pool } from '../src/index.js';
import { Actor } from './helpers/actor.js';

describe('dynamic attachments and moves', () => {
  const actors: Actor[] = [];
  afterEach(async () => {
    await Promise.all(actors.splice(0).map((a) => a.stop()));
  });

  it('notifies a dynamic importer in another worker, refuses its stale mapping, and re-maps to the moved data', async () => {
    const pool = Pool.create({ bytes: 1 << 20 });
    const dev = Device.open(pool, 0);
    const buf = dev.allocate(2 * PAGE_SIZE);
    dev.view(buf).fill(7);
    const exported = dev.export(buf);

    const importer = Actor.start(pool);
    actors.push(importer);
    const imported = await importer.call('$DmaBuf', 'import', '$pool', exported.handle);
    const att = await importer.helper('attachDynamic', imported);
    const mapping = await importer.call(att, 'map');
    const before = (await importer.helper('get', mapping, 'segments'))[0].offset;

    const oldOffset = buf.offset;
    dev.move(buf);
    expect(buf.offset).not.toBe(oldOffset);
    expect(pool.u8(oldOffset, 2 * PAGE_SIZE).every((b) => b === 0)).toBe(true);

    expect(await importer.helper('waitInvalidations', att, 1, 5000)).toBe(1);
    expect(await importer.helper('get', att, 'invalidated')).toBe(true);
    await expect(importer.call(att, 'beginCpuAccess', mapping)).rejects.toMatchObject({
      code: 'ESTALE',
      message: expect.stringMatching(/unmap it and map again/),
    });
    await importer.call(att, 'unmap', mapping);
    const fresh = await importer.call(att, 'map');
    const after = (await importer.helper('get', fresh, 'segments'))[0].offset;
    expect(after).toBe(buf.offset);
    expect(after).not.toBe(before);
    const view = await importer.call(att, 'beginCpuAccess', fresh);
    expect((await importer.helper('bytes', view)).every((b: number) => b === 7)).toBe(true);
    await importer.call(view, 'end');
  });

  it('cannot move memory that a dynamic importer pinned or a static importer mapped', async () => {
    const pool = Pool.create({ bytes: 1 << 20 });
    const dev = Device.open(pool, 0);
    const buf = dev.allocate(PAGE_SIZE);
    const exported = dev.export(buf);

    const importer = Actor.start(pool);
    actors.push(importer);
    const imported = await importer.call('$DmaBuf', 'import', '$pool', exported.handle);
    const dyn = await importer.helper('attachDynamic', imported);
    await importer.call(dyn, 'pin');
    expect(() => dev.move(buf)).toThrow(/EBUSY: buffer is pinned by 1 attachment/);
    await importer.call(dyn, 'unpin');

    const stat = await importer.call(imported, 'attach');
    await expect(importer.call(stat, 'pin')).rejects.toMatchObject({
      code: 'EPERM',
      message: expect.stringMatching(/only a dynamic attachment may pin/),
    });
    const m = await importer.call(stat, 'map');
    expect(() => dev.move(buf)).toThrow(/EBUSY/);
    await importer.call(stat, 'unmap', m);
    expect(() => dev.move(buf)).not.toThrow();
    expect(await importer.helper('waitInvalidations', dyn, 1, 5000)).toBe(1);
  });
});
