import { describe, expect, it } from 'vitest';
import { Device, Fabric, getInfo, Pool } from '../src/index.js';

const CAPACITY = 4096; // the pool's default number of MR records

describe('memory-region keys', () => {
  it('differ in a random part at every registration of the same record, and do not follow one another', () => {
    const pool = Pool.create({ bytes: 4 << 20 });
    const dev = Device.open(pool, 0);
    const dmabuf = dev.export(dev.allocate(4096));
    const domain = Fabric.open(getInfo({ provider: 'shm' })[0]!).domain(pool);
    const keys: number[] = [];
    for (let i = 0; i < 16; i++) {
      const mr = domain.registerDmaBuf(dmabuf, { access: ['remoteRead', 'remoteWrite'] });
      keys.push(mr.key);
      mr.close();
    }
    // One record, reused each time (the first free one).
    const slots = new Set(keys.map((k) => k % CAPACITY));
    expect(slots.size).toBe(1);
    const tags = keys.map((k) => Math.floor(k / CAPACITY));
    expect(new Set(tags).size).toBe(keys.length);
    for (const k of keys) expect(Number.isSafeInteger(k)).toBe(true);
    // Not a counter: no two successive tags are neighbours.
    for (let i = 1; i < tags.length; i++) expect(Math.abs(tags[i]! - tags[i - 1]!)).toBeGreaterThan(1);
    // Spread over the 41 bits a tag has: some tags need more than 32 of them (all 16 below 2^32: odds 2^-144).
    expect(tags.some((t) => t >= 2 ** 32)).toBe(true);
    for (const t of tags) expect(t).toBeGreaterThan(0);
    for (const t of tags) expect(t).toBeLessThan(2 ** 41);
    domain.close();
    dmabuf.release();
  });
});
