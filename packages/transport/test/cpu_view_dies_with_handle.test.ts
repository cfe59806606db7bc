import { afterEach, describe, expect, it } from 'vitest';
import { Device, PAGE_SIZE, Pool } from '../src/index.js';
import { Actor } from './helpers/actor.js';

describe('a CPU view dies with its handle', () => {
  const actors: Actor[] = [];
  afterEach(async () => {
    await Promise.all(actors.splice(0).map((a) => a.stop()));
  });

  for (const how of ['end', 'unmap', 'detach', 'release'] as const) {
    it(`after ${how}, the bytes the importer kept are zero-length and never show the next owner's data`, async () => {
      const pool = Pool.create({ bytes: 1 << 20 });
      const dev = Device.open(pool, 0);
      const buf = dev.allocate(PAGE_SIZE);
      const offset = buf.offset;
      dev.view(buf).fill(7);
      const exported = dev.export(buf);
      const importer = Actor.start(pool);
      actors.push(importer);
      const imported = await importer.call('$DmaBuf', 'import', '$pool', exported.handle);
      const att = await importer.call(imported, 'attach');
      const mapping = await importer.call(att, 'map');
      const view = await importer.call(att, 'beginCpuAccess', mapping);
      const kept = await importer.helper('keepBytes', view);
      expect(await importer.helper('keptLength', kept)).toBe(PAGE_SIZE);

      if (how === 'end') await importer.call(view, 'end');
      if (how === 'unmap') await importer.call(att, 'unmap', mapping);
      if (how === 'detach') {
        await importer.call(att, 'unmap', mapping);
        await importer.call(att, 'detach');
      }
      if (how === 'release') await importer.call(imported, 'release');
      expect(await importer.helper('keptLength', kept)).toBe(0);
      expect(await importer.helper('length', view)).toBe(0);
      expect(exported.cpuViews).toBe(0);

      // A stale end() is an error and leaves the count alone.
      await expect(importer.call(view, 'end')).rejects.toThrow(/CPU view already ended/);
      expect(exported.cpuViews).toBe(0);

      // The pages go to a new owner: nothing the importer holds reaches them.
      if (how !== 'release') {
        if (how !== 'detach') {
          if (how === 'end') await importer.call(att, 'unmap', mapping);
          await importer.call(att, 'detach');
        }
        await importer.call(imported, 'release');
      }
      exported.release();
      dev.free(buf);
      const next = dev.allocate(PAGE_SIZE);
      expect(next.offset).toBe(offset);
      dev.view(next).fill(99);
      expect(await importer.helper('keptLength', kept)).toBe(0);
      expect(dev.reservation(next).test(3)).toBe(true);
      const fresh = dev.export(next);
      expect(fresh.cpuViews).toBe(0);
    });
  }
});
