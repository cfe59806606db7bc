import { afterEach, describe, expect, it } from 'vitest';
import { Device, Pool } from '../src/index.js';
import { Actor } from './helpers/actor.js';

describe('a thread nobody told the pool about that dies holding the pool lock', () => {
  const actors: Actor[] = [];
  afterEach(async () => {
    await Promise.all(actors.splice(0).map((a) => a.stop()));
  });

  it('does not block the other threads either: the pool watches every worker started by a thread that has it open', async () => {
    const pool = Pool.create({ bytes: 1 << 20 });
    const holder = Actor.start(pool, { watch: false });
    const waiter = Actor.start(pool, { watch: false });
    actors.push(waiter);
    const flag = new Int32Array(new SharedArrayBuffer(8));
    void holder.helper('holdPoolLock', flag).catch(() => {});
    while (Atomics.load(flag, 0) === 0) await new Promise((r) => setTimeout(r, 5));

    // Another worker now needs the lock (opening a device takes it) and waits.
    let opened = false;
    const open = waiter.call('$Device', 'open', '$pool', 1).then(() => (opened = true));
    await new Promise((r) => setTimeout(r, 200));
    expect(opened).toBe(false);

    await holder.kill();
    await open;
    expect(opened).toBe(true);
    expect(pool.lockRecoveries).toBe(1);
    // The main thread gets the lock too.
    expect(Device.open(pool, 2).index).toBe(2);
  });
});
