import { describe, expect, it } from 'vitest';
import { Pool, Usage, WAIT_TIMEOUT_ENV } from '../src/index.js';
import { Actor, type ActorError, type Ref } from './helpers/actor.js';
import { shortWaitDefault, timesOutAfter } from './helpers/short_wait_default.js';

// The default deadline, shortened for the test.
const DEADLINE_MS = 300;

describe('a fence wait whose caller gives no timeoutMs', () => {
  const actors = shortWaitDefault(DEADLINE_MS);

  /** A device buffer in another thread whose reservation holds a fence nobody signals. */
  async function fenced() {
    const pool = Pool.create({ bytes: 1 << 20 });
    const a = Actor.start(pool);
    actors.push(a);
    const dev = (await a.call('$Device', 'open', '$pool', 0)) as Ref;
    const buf = (await a.call(dev, 'allocate', 4096)) as Ref;
    const resv = (await a.call(dev, 'reservation', buf)) as Ref;
    const fence = (await a.call('$Fence', 'create', '$pool')) as Ref;
    await a.call(resv, 'add', fence, Usage.WRITE);
    return { a, dev, buf, resv, fence };
  }

  const timesOut = (p: Promise<unknown>) =>
    timesOutAfter(DEADLINE_MS, p, new RegExp(`fence \\d+ not signalled within ${DEADLINE_MS} ms; .*signal it, or pass a longer timeoutMs \\(${WAIT_TIMEOUT_ENV} sets the default`));

  it('Fence.wait() ends with ETIMEDOUT at the default deadline (was: waited for ever)', async () => {
    const { a, fence } = await fenced();
    await timesOut(a.call(fence, 'wait'));
    // Still a fence like any other: signalled, the same wait returns.
    await a.call(fence, 'signal');
    await a.call(fence, 'wait');
  }, 30 * DEADLINE_MS);

  it('SyncFile.wait() ends the same way', async () => {
    const { a, resv } = await fenced();
    const file = (await a.call(resv, 'exportSyncFile', 'rw')) as Ref;
    await timesOut(a.call(file, 'wait'));
  }, 30 * DEADLINE_MS);

  it('Reservation.wait(usage) ends the same way', async () => {
    const { a, resv } = await fenced();
    await timesOut(a.call(resv, 'wait', Usage.BOOKKEEP));
  }, 30 * DEADLINE_MS);

  it('Device.move(buf) ends the same way, and moves nothing', async () => {
    const { a, dev, buf, fence } = await fenced();
    const before = (await a.helper('get', buf, 'offset')) as number;
    await timesOut(a.call(dev, 'move', buf));
    expect(await a.helper('get', buf, 'offset')).toBe(before);
    await a.call(fence, 'signal');
    await a.call(dev, 'move', buf);
  }, 30 * DEADLINE_MS);
});
