import { afterEach, describe, expect, it } from 'vitest';
import { Device, PAGE_SIZE, Pool } from '../src/index.js';
import { Actor } from './helpers/actor.js';

describe('revoke', () => {
  const actors: Actor[] = [];
  afterEach(async () => {
    await Promise.all(actors.splice(0).map((a) => a.stop()));
  });

  it('is terminal for importers and keeps the memory until the last importer unmaps', async () => {
    const pool = Pool.create({ bytes: 1 << 20 });
    const dev = Device.open(pool, 0);
    const buf = dev.allocate(PAGE_SIZE);
    const offset = buf.offset;
    dev.view(buf).fill(5);
    const exported = dev.export(buf);

    const importer = Actor.start(pool);
    actors.push(importer);
    const imported = await importer.call('$DmaBuf', 'import', '$pool', exported.handle);
    const att = await importer.helper('attachDynamic', imported);
    const mapping = await importer.call(att, 'map');

    exported.revoke();
    expect(await importer.helper('waitInvalidations', att, 1, 5000)).toBe(1);
    const revokedError = { code: 'EIO', message: expect.stringMatching(/revoked by its exporter/) };
    await expect(importer.call(att, 'map')).rejects.toMatchObject(revokedError);
    await expect(importer.call(att, 'beginCpuAccess', mapping)).rejects.toMatchObject(revokedError);
    await expect(importer.call(imported, 'attach')).rejects.toMatchObject(revokedError);
    await expect(importer.call('$DmaBuf', 'import', '$pool', exported.handle)).rejects.toMatchObject(revokedError);
    expect(() => exported.attach()).toThrow(/revoked/);

    // The exporter lets go entirely; the importer's mapping still pins the pages.
    exported.release();
    dev.free(buf);
    const other = dev.allocate(PAGE_SIZE);
    expect(other.offset).not.toBe(offset);
    expect(pool.u8(offset, PAGE_SIZE)[0]).toBe(5);

    await importer.call(att, 'unmap', mapping);
    await importer.call(att, 'detach');
    await importer.call(imported, 'release');
    expect(pool.u8(offset, PAGE_SIZE).every((b) => b === 0)).toBe(true);
    expect(dev.allocate(PAGE_SIZE).offset).toBe(offset);
  });

  it('may only be done by the exporter', async () => {
    const pool = Pool.create({ bytes: 1 << 20 });
    const dev = Device.open(pool, 0);
    const exported = dev.export(dev.allocate(PAGE_SIZE));
    const importer = Actor.start(pool);
    actors.push(importer);
    const imported = await importer.call('$DmaBuf', 'import', '$pool', exported.handle);
    await expect(importer.call(imported, 'revoke')).rejects.toMatchObject({ code: 'EPERM' });
    expect(exported.revoked).toBe(false);
  });
});
