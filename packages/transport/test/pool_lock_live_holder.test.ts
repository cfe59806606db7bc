import { afterEach, describe, expect, it } from 'vitest';
import { Device, Pool } from '../src/index.js';
import { LOCK_WAIT_MS } from '../src/shared_lock.js';
import { Actor, type ActorError } from './helpers/actor.js';

describe('a live thread that keeps the pool lock', () => {
  const actors: Actor[] = [];
  afterEach(async () => {
    await Promise.all(actors.splice(0).map((a) => a.stop()));
  });

  it(`makes a waiter fail with ETIMEDOUT after ${LOCK_WAIT_MS} ms, naming the holder, instead of waiting for ever`, async () => {
    const pool = Pool.create({ bytes: 1 << 20 });
    const holder = Actor.start(pool);
    const waiter = Actor.start(pool);
    actors.push(holder, waiter);
    const flag = new Int32Array(new SharedArrayBuffer(8));
    const held = holder.helper('holdPoolLock', flag);
    while (Atomics.load(flag, 0) === 0) await new Promise((r) => setTimeout(r, 5));

    // Opening a device takes the lock.
    const t0 = performance.now();
    const err = (await waiter.call('$Device', 'open', '$pool', 1).then(
      () => undefined,
      (e: ActorError) => e,
    )) as ActorError | undefined;
    const waited = performance.now() - t0;
    expect(err?.code).toBe('ETIMEDOUT');
    expect(err?.message).toMatch(new RegExp(`did not get the pool lock within ${LOCK_WAIT_MS} ms: thread ${holder.threadId} holds it and is alive`));
    expect(waited).toBeGreaterThanOrEqual(LOCK_WAIT_MS - 50);

    // The holder lets go: nothing was recovered (it never died), and the lock works for everyone.
    Atomics.store(flag, 1, 1);
    Atomics.notify(flag, 1);
    await held;
    expect(pool.lockRecoveries).toBe(0);
    expect((await waiter.call('$Device', 'open', '$pool', 1)) as object).toHaveProperty('$ref');
    expect(Device.open(pool, 2).index).toBe(2);
  }, 3 * LOCK_WAIT_MS + 10_000);
});
