import { afterEach, describe, expect, it } from 'vitest';
import { Device, Fence, PAGE_SIZE, Pool, Usage } from '../src/index.js';
import { ReusableFence } from '../src/runtime_interface.js';
import { Actor } from './helpers/actor.js';

describe('a reusable fence', () => {
  const actors: Actor[] = [];
  afterEach(async () => {
    await Promise.all(actors.splice(0).map((a) => a.stop()));
  });

  it('waits for conflicting fences, publishes a fresh fence per access, and reports failures to waiters', async () => {
    const pool = Pool.create({ bytes: 1 << 20 });
    const dev = Device.open(pool, 0);
    const buf = dev.allocate(PAGE_SIZE);
    const resv = dev.reservation(buf);
    const fence = ReusableFence.claim(pool, buf.slot, buf.gen, Usage.WRITE);

    // A foreign writer's fence makes begin() wait, and time out if it never signals.
    const writer = Fence.create(pool);
    resv.add(writer, Usage.WRITE);
    expect(() => fence.begin(Usage.READ, 50)).toThrow(/ETIMEDOUT/);
    expect(fence.isArmed).toBe(false);
    writer.signal();

    // Armed: a reader in another worker waits for it until end().
    const reader = Actor.start(pool);
    actors.push(reader);
    const exported = dev.export(buf);
    const imported = await reader.call('$DmaBuf', 'import', '$pool', exported.handle);
    const theirResv = await reader.call(imported, 'reservation');
    fence.begin(Usage.READ, 1000);
    expect(resv.test(Usage.WRITE)).toBe(false);
    const waited = reader.helper('timedWait', theirResv, Usage.WRITE, 5000);
    await new Promise((r) => setTimeout(r, 100));
    fence.end();
    expect(await waited).toBeGreaterThanOrEqual(50);
    expect(resv.test(Usage.WRITE)).toBe(true);
    await reader.call(imported, 'release');
    exported.release();

    // Each access is a new fence: a sync file taken during one access is not fooled by the next.
    fence.begin(Usage.READ, 1000);
    const during = resv.exportSyncFile('read');
    fence.fail('ECANCELED');
    expect(() => during.wait(100)).toThrow(/ECANCELED/);
    fence.begin(Usage.READ, 1000);
    expect(during.signaled).toBe(true);
    fence.end();

    fence.release();
    // The entry is free again: sixteen ordinary fences fit.
    const many = Array.from({ length: 16 }, () => {
      const f = Fence.create(pool);
      resv.add(f, Usage.BOOKKEEP);
      return f;
    });
    for (const f of many) f.signal();
    dev.free(buf);
  });
});
