import { describe, expect, it } from 'vitest';
import { Device, PAGE_SIZE, Pool } from '../src/index.js';

describe('revoking one export of a buffer', () => {
  it('revokes every export of it and refuses new ones, since the memory itself is cut off', () => {
    const pool = Pool.create({ bytes: 1 << 20 });
    const dev = Device.open(pool, 0);
    const buf = dev.allocate(2 * PAGE_SIZE);
    const first = dev.export(buf, { size: PAGE_SIZE });
    const second = dev.export(buf, { offset: PAGE_SIZE, size: PAGE_SIZE });
    const att = second.attach();
    first.revoke();
    expect(second.revoked).toBe(true);
    expect(() => att.map()).toThrow(/EIO: dma-buf has been revoked/);
    expect(() => dev.export(buf)).toThrow(/EIO: buffer was revoked/);
    // The owner still has its memory.
    dev.view(buf).fill(3);
    expect(dev.view(buf)[PAGE_SIZE]).toBe(3);
  });
});
