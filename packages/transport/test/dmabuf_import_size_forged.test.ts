import { describe, expect, it } from 'vitest';
import { Device, DmaBuf, Pool } from '../src/index.js';

describe('a dma-buf handle whose size was changed', () => {
  it('is refused on import: a 4 KiB export cannot be imported as 8 KiB and reach the next buffer', () => {
    const pool = Pool.create({ bytes: 1 << 20 });
    const dev = Device.open(pool, 0);
    const a = dev.allocate(4096);
    const b = dev.allocate(4096);
    pool.u8(b.offset, 4096).fill(7);
    const exp = dev.export(a);
    expect(() => DmaBuf.import(pool, { ...exp.handle, size: 8192 })).toThrow(/says 8192 bytes but the export is 4096 bytes/);
    expect(() => DmaBuf.import(pool, { ...exp.handle, size: 1 })).toThrow(/EINVAL/);
    // The handle as given still imports, and maps only its own 4 KiB.
    const ok = DmaBuf.import(pool, exp.handle);
    expect(ok.size).toBe(4096);
    ok.release();
    exp.release();
  });
});
