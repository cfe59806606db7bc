import { afterEach, describe, expect, it } from 'vitest';
import { Device, PAGE_SIZE, Pool } from '../src/index.js';
import { Actor } from './helpers/actor.js';

describe('CPU views go through the exporter', () => {
  const actors: Actor[] = [];
  afterEach(async () => {
    await Promise.all(actors.splice(0).map((a) => a.stop()));
  });

  it('counts views opened by importers in other workers and blocks moves while any is open', async () => {
    const pool = Pool.create({ bytes: 1 << 20 });
    const dev = Device.open(pool, 0);
    const buf = dev.allocate(PAGE_SIZE);
    const exported = dev.export(buf);
    const a = Actor.start(pool);
    const b = Actor.start(pool);
    actors.push(a, b);
    const views = [];
    for (const actor of [a, b]) {
      const imp = await actor.call('$DmaBuf', 'import', '$pool', exported.handle);
      const att = await actor.call(imp, 'attach', { dynamic: false });
      const m = await actor.call(att, 'map');
      views.push({ actor, att, m, view: await actor.call(att, 'beginCpuAccess', m) });
    }
    expect(exported.cpuViews).toBe(2);
    // Access is bracketed: a's writes land at end(), and a view begun afterwards sees them.
    await a.helper('fill', views[0]!.view, 9);
    expect((await b.helper('bytes', views[1]!.view))[100]).toBe(0);
    await a.call(views[0]!.view, 'end');
    // b changed nothing, so its end() writes nothing back over a's bytes.
    await b.call(views[1]!.view, 'end');
    expect(dev.view(buf)[100]).toBe(9);
    const again = await b.call(views[1]!.att, 'beginCpuAccess', views[1]!.m);
    expect((await b.helper('bytes', again))[100]).toBe(9);
    await b.call(again, 'end');

    for (const v of views) await v.actor.call(v.att, 'unmap', v.m);
    expect(exported.cpuViews).toBe(0);
    await expect(a.call(views[0]!.view, 'end')).rejects.toThrow(/CPU view already ended/);
  });

  it('refuses to move while a view is open', () => {
    const pool = Pool.create({ bytes: 1 << 20 });
    const dev = Device.open(pool, 0);
    const buf = dev.allocate(PAGE_SIZE);
    const exported = dev.export(buf);
    const att = exported.attach({ dynamic: true, invalidateMappings: () => {} });
    const m = att.map();
    const view = att.beginCpuAccess(m);
    expect(view.bytes.length).toBe(PAGE_SIZE);
    expect(() => dev.move(buf)).toThrow(/EBUSY: buffer has 1 CPU view/);
    view.end();
    dev.move(buf);
    att.unmap(m);
    att.detach();
  });
});
