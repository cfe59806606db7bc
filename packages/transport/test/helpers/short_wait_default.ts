import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { WAIT_TIMEOUT_ENV } from '../../src/index.js';
import type { Actor, ActorError } from './actor.js';

/**
 * Inside a describe(): shortens the default deadline of waits given no
 * timeoutMs (COLLECTIVE_WAIT_TIMEOUT_MS) to `ms` for its tests (a worker
 * reads the environment it was started with), and stops the actors the
 * tests push into the returned list.
 */
export function shortWaitDefault(ms: number): Actor[] {
  const saved = process.env[WAIT_TIMEOUT_ENV];
  beforeAll(() => {
    process.env[WAIT_TIMEOUT_ENV] = String(ms);
  });
  afterAll(() => {
    if (saved === undefined) delete process.env[WAIT_TIMEOUT_ENV];
    else process.env[WAIT_TIMEOUT_ENV] = saved;
  });
  const actors: Actor[] = [];
  afterEach(async () => {
    await Promise.all(actors.splice(0).map((a) => a.stop()));
  });
  return actors;
}

/** Expects `p` to fail with ETIMEDOUT, its message matching each of `messages`, no sooner than `ms` after the call. */
export async function timesOutAfter(ms: number, p: Promise<unknown>, ...messages: RegExp[]): Promise<ActorError> {
  const t0 = performance.now();
  const err = (await p.then(
    () => undefined,
    (e: ActorError) => e,
  )) as ActorError | undefined;
  expect(err?.code).toBe('ETIMEDOUT');
  for (const m of messages) expect(err?.message).toMatch(m);
  expect(performance.now() - t0).toBeGreaterThanOrEqual(ms - 20);
  return err!;
}
