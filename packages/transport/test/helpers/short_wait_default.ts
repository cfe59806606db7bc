import { afterAll, afterEach, beforeAll } from 'vitest';
import { WAIT_TIMEOUT_ENV } from '../../src/index.js';
import type { Actor } from './actor.js';

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
