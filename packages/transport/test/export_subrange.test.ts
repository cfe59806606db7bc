import { afterEach, describe, expect, it } from 'vitest';
import { Device, PAGE_SIZE, Pool } from '../src/index.js';
import { Actor } from './helpers/actor.js';

describe('export of a sub-range', () => {
  const actors: Actor[] = [];
  afterEach(async () => {
    await Promise.all(actors.splice(0).map((a) => a.stop()));
  });

  it('exposes exactly the pages asked for, in another worker', async () => {
    const pool = Pool.create({ bytes: 1 << 20 });
    const dev = Device.open(pool, 0);
    const buf = dev.allocate(4 * PAGE_SIZE);
    const raw = dev.view(buf);
    for (let p = 0; p < 4; p++) raw.fill(p + 1, p * PAGE_SIZE, (p + 1) * PAGE_SIZE);
    const exported = dev.export(buf, { offset: PAGE_SIZE, size: 2 * PAGE_SIZE });
    expect(exported.size).toBe(2 * PAGE_SIZE);

    const importer = Actor.start(pool);
    actors.push(importer);
    const imported = await importer.call('$DmaBuf', 'import', '$pool', exported.handle);
    const att = await importer.call(imported, 'attach');
    const mapping = await importer.call(att, 'map');
    const segments = await importer.helper('get', mapping, 'segments');
    expect(segments).toEqual([{ offset: buf.offset + PAGE_SIZE, length: 2 * PAGE_SIZE, space: `shm:${pool.id}` }]);
    const view = await importer.call(att, 'beginCpuAccess', mapping);
    const bytes: number[] = await importer.helper('bytes', view);
    expect(bytes.length).toBe(2 * PAGE_SIZE);
    expect(bytes[0]).toBe(2);
    expect(bytes[2 * PAGE_SIZE - 1]).toBe(3);
    await importer.call(view, 'end');

    // A range past the export is refused rather than clipped or widened.
    await expect(importer.call(att, 'map', { offset: PAGE_SIZE, length: 2 * PAGE_SIZE })).rejects.toMatchObject({
      code: 'EINVAL',
      message: expect.stringMatching(/exceeds the 8192-byte dma-buf/),
    });
    const part = await importer.call(att, 'map', { offset: PAGE_SIZE, length: PAGE_SIZE });
    expect((await importer.helper('get', part, 'segments'))[0]).toMatchObject({ offset: buf.offset + 2 * PAGE_SIZE, length: PAGE_SIZE });
  });

  it('refuses unaligned or out-of-buffer export ranges', () => {
    const pool = Pool.create({ bytes: 1 << 20 });
    const dev = Device.open(pool, 0);
    const buf = dev.allocate(2 * PAGE_SIZE);
    expect(() => dev.export(buf, { offset: 100 })).toThrow(/options.offset must be a multiple of 4096 \(got 100\)/);
    expect(() => dev.export(buf, { size: 5000 })).toThrow(/options.size must be a positive multiple of 4096/);
    expect(() => dev.export(buf, { offset: PAGE_SIZE, size: 2 * PAGE_SIZE })).toThrow(/exceeds the 8192-byte buffer/);
  });
});
