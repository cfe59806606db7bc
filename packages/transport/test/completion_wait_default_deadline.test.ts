import { describe, expect, it } from 'vitest';
import { Pool, WAIT_TIMEOUT_ENV } from '../src/index.js';
import { Actor, type ActorError, type Ref } from './helpers/actor.js';
import { shortWaitDefault, timesOutAfter } from './helpers/short_wait_default.js';

// The default deadline, shortened for the test.
const DEADLINE_MS = 300;

describe('a completion wait whose caller gives no timeoutMs', () => {
  const actors = shortWaitDefault(DEADLINE_MS);

  /** An enabled shm endpoint in another thread that no peer ever sends to. */
  async function lonelyPeer() {
    const a = Actor.start(Pool.create({ bytes: 4 << 20 }));
    actors.push(a);
    const peer = (await a.helper('fabricPeer', 0, 4096, ['remoteWrite'])) as { cq: Ref; counter: Ref; ep: Ref };
    return { a, ...peer };
  }

  const hint = new RegExp(`check that the peers run, or pass a longer timeoutMs \\(${WAIT_TIMEOUT_ENV} sets the default`);
  const timesOut = (p: Promise<unknown>, message: RegExp) => timesOutAfter(DEADLINE_MS, p, message, hint);

  it('CompletionQueue.wait() ends with ETIMEDOUT at the default deadline (was: waited for ever)', async () => {
    const { a, cq, ep } = await lonelyPeer();
    await a.call(ep, 'trecv', 7);
    await timesOut(a.call(cq, 'wait'), new RegExp(`no completion within ${DEADLINE_MS} ms`));
  }, 30 * DEADLINE_MS);

  it('Counter.wait(threshold) ends the same way', async () => {
    const { a, counter } = await lonelyPeer();
    await timesOut(a.call(counter, 'wait', 1), new RegExp(`counter at 0, below 1, after ${DEADLINE_MS} ms`));
  }, 30 * DEADLINE_MS);
});
