import { afterEach, describe, expect, it } from 'vitest';
import { Pool } from '../src/index.js';
import { Actor } from './helpers/actor.js';

describe('an export holds its device after close', () => {
  const actors: Actor[] = [];
  afterEach(async () => {
    await Promise.all(actors.splice(0).map((a) => a.stop()));
  });

  it('keeps B out until the pinned importer releases, then B sees zeroed memory', async () => {
    const pool = Pool.create({ bytes: 1 << 20 });
    const userA = Actor.start(pool);
    const importer = Actor.start(pool);
    const userB = Actor.start(pool);
    actors.push(userA, importer, userB);

    const dev = await userA.call('$Device', 'open', '$pool', 0);
    const buf = await userA.call(dev, 'allocate', 8192);
    const offsetA = await userA.helper('get', buf, 'offset');
    await userA.helper('fill', await userA.call(dev, 'view', buf), 0xab);
    const exported = await userA.call(dev, 'export', buf);
    const handle = await userA.helper('get', exported, 'handle');

    const imported = await importer.call('$DmaBuf', 'import', '$pool', handle);
    const att = await importer.helper('attachDynamic', imported);
    await importer.call(att, 'pin');
    const mapping = await importer.call(att, 'map');
    const view = await importer.call(att, 'beginCpuAccess', mapping);
    expect((await importer.helper('bytes', view)).every((b: number) => b === 0xab)).toBe(true);
    await importer.call(view, 'end');

    await userA.call(exported, 'release');
    await userA.call(dev, 'close');
    await expect(userB.call('$Device', 'open', '$pool', 0)).rejects.toMatchObject({
      code: 'EBUSY',
      message: expect.stringMatching(/held by 1 live export/),
    });

    // The importer still reads A's data: the close did not free pinned memory.
    const view2 = await importer.call(att, 'beginCpuAccess', mapping);
    expect((await importer.helper('bytes', view2))[8191]).toBe(0xab);
    await importer.call(view2, 'end');

    await importer.call(att, 'unmap', mapping);
    await importer.call(att, 'unpin');
    await importer.call(att, 'detach');
    await expect(userB.call('$Device', 'open', '$pool', 0)).rejects.toMatchObject({ code: 'EBUSY' });
    await importer.call(imported, 'release');

    const devB = await userB.call('$Device', 'open', '$pool', 0);
    const bufB = await userB.call(devB, 'allocate', 8192);
    // First fit hands B the very pages A wrote: they must come back scrubbed.
    expect(await userB.helper('get', bufB, 'offset')).toBe(offsetA);
    const bytes: number[] = await userB.helper('bytes', await userB.call(devB, 'view', bufB));
    expect(bytes.length).toBe(8192);
    expect(bytes.every((b) => b === 0)).toBe(true);
  });
});
