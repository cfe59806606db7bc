import { describe, expect, it } from 'vitest';
import { Device, Fabric, getInfo, Pool } from '../src/index.js';
import { enterInflight, leaveInflight } from '../src/inflight_guard.js';
import { inflightWord } from '../src/providers/tcp/mr_check.js';

describe("a memory region's record reused while a thread is inside the old region's in-flight guard", () => {
  it('keeps the count: the late leave balances its enter, and the new region closes instead of waiting for ever', () => {
    const pool = Pool.create({ bytes: 1 << 20 });
    const dev = Device.open(pool, 0);
    const domain = Fabric.open(getInfo({ provider: 'shm' })[0]!).domain(pool);
    const d = dev.export(dev.allocate(4096));
    const old = domain.registerDmaBuf(d, { access: ['remoteWrite'] });
    const slot = (old as unknown as { impl: { slot: number } }).impl.slot;
    old.close();
    // A thread about to move a piece enters the guard of the closed record (it will find the key stale) ...
    const word = inflightWord(pool, slot);
    enterInflight(pool.ctl, word);
    // ... the record is reused by the next registration meanwhile ...
    const next = domain.registerDmaBuf(d, { access: ['remoteWrite'] });
    expect((next as unknown as { impl: { slot: number } }).impl.slot).toBe(slot);
    // ... and the thread leaves: the new region's count is back to 0, not -1.
    leaveInflight(pool.ctl, word);
    expect(Atomics.load(pool.ctl, word)).toBe(0);
    next.close();
  });
});
