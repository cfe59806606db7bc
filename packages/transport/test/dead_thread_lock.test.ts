import { afterEach, describe, expect, it } from 'vitest';
import { Device, Pool } from '../src/index.js';
import { Actor } from './helpers/actor.js';

describe('a thread that dies holding the pool lock', () => {
  const actors: Actor[] = [];
  afterEach(async () => {
    await Promise.all(actors.splice(0).map((a) => a.stop()));
  });

  it.each([
    ['the starter called pool.watch()', true],
    ['nobody told the pool (it watches every worker started by a thread that has it open)', false],
  ])('does not block the other threads: the lock is handed back when the pool learns of the death (%s)', async (_how, watch) => {
    const pool = Pool.create({ bytes: 1 << 20 });
    const holder = Actor.start(pool, { watch });
    const waiter = Actor.start(pool, { watch });
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
