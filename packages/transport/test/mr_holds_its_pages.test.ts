import { describe, expect, it } from 'vitest';
import { type Completion, Device, Fabric, getInfo, Pool } from '../src/index.js';

function setup() {
  const pool = Pool.create({ bytes: 1 << 20 });
  const dev = Device.open(pool, 0);
  const domain = Fabric.open(getInfo({ provider: 'shm' })[0]!).domain(pool);
  const cq = domain.cq({ size: 16 });
  const av = domain.av();
  const ep = domain.endpoint();
  ep.bind(cq).bind(av);
  ep.enable();
  const me = av.insert(ep.address);
  const src = dev.allocate(4096);
  pool.u8(src.offset, 64).fill(0x41);
  const srcMr = domain.registerDmaBuf(dev.export(src), { access: ['read', 'write'] });
  /** Writes 64 bytes with `key` to offset 0 and returns the completion or the error's code. */
  const write = (key: number): string => {
    ep.write({ mr: srcMr, offset: 0, length: 64, dest: me, remoteOffset: 0, key, context: 1 });
    try {
      const got: Completion[] = cq.read(4);
      return got.length === 1 ? 'ok' : 'nothing';
    } catch {
      return cq.readErr()!.code;
    }
  };
  return { pool, dev, domain, write };
}

describe('a memory region and the reference it was registered through', () => {
  it('keeps its own: after the caller releases its export and the owner frees the buffer, the next buffer never sees a write to the old key', () => {
    const { pool, dev, domain, write } = setup();
    const buf = dev.allocate(4096);
    const exported = dev.export(buf);
    const mr = domain.registerDmaBuf(exported, { access: ['remoteWrite'] });
    exported.release();
    dev.free(buf);
    // The region still holds the pages: the next buffer gets others, and a write with the key stays in the region's.
    const next = dev.allocate(4096);
    expect(next.offset).not.toBe(buf.offset);
    expect(write(mr.key)).toBe('ok');
    expect(pool.u8(next.offset, 4096).every((b) => b === 0)).toBe(true);
    // Closing the region lets the pages go; the key then reaches nothing, whoever owns them next.
    mr.close();
    const later = dev.allocate(4096);
    expect(write(mr.key)).toBe('ECANCELED');
    expect(pool.u8(later.offset, 4096).every((b) => b === 0)).toBe(true);
  });

  it('closes cleanly after its export was revoked, and gives the pages back', () => {
    const { dev, domain, write } = setup();
    const buf = dev.allocate(8192);
    const exported = dev.export(buf);
    const mr = domain.registerDmaBuf(exported, { access: ['remoteWrite'] });
    exported.revoke();
    expect(write(mr.key)).not.toBe('ok');
    expect(() => mr.close()).not.toThrow();
    exported.release();
    dev.free(buf);
    // Every reference is gone: the same pages go to the next buffer of that size.
    expect(dev.allocate(8192).offset).toBe(buf.offset);
  });
});
