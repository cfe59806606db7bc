import { describe, expect, it } from 'vitest';
import { fixture, withWorld } from './helpers/world.js';

const TIMEOUT_MS = 300;

describe('small communicators where one rank fails locally and the others time out on it, one after the other in one World', () => {
  it.each([
    [4, 2, 'shm'],
    [4, 4, 'shm'],
    [3, 3, 'net'],
  ] as const)('%i devices in groups of %i over %s: each child fails as it should, and a destroyed one leaves nothing behind', async (devices, groupSize, connector) => {
    const rounds = 6;
    const results = await withWorld(devices, (w) => w.launch<any>(fixture('local_failure_children'), { rounds, groupSize, timeoutMs: TIMEOUT_MS, connector }));
    for (const [rank, r] of results.entries()) {
      for (const [i, round] of r.entries()) {
        const at = `rank ${rank} round ${i}`;
        expect(round.warm, at).toBe(true);
        if (round.bad) {
          expect(round.error?.code, at).toBe('EINVAL');
          expect(round.error?.message, at).toMatch(/send is not in device memory/);
          if (i % 2 === 1) expect(round.retry?.message, at).toMatch(new RegExp(`aborted by rank \\d: allReduce #2: rank ${i % groupSize} did not arrive within ${TIMEOUT_MS} ms`));
        } else if (connector === 'net' && i % 2 === 0) {
          // Over net, the failing rank's destroy closes its endpoint and regions while the peers still write to them: they learn it from that, or from the deadline.
          expect(round.error?.code, at).toMatch(/^(ETIMEDOUT|ENOTCONN|ECANCELED)$/);
          expect(round.error?.message, at).toMatch(new RegExp(`rank ${i % groupSize} did not arrive within ${TIMEOUT_MS} ms|a write to or from rank ${i % groupSize} failed`));
        } else {
          expect(round.error?.code, at).toBe('ETIMEDOUT');
          expect(round.error?.message, at).toMatch(new RegExp(`allReduce #2: (the communicator was aborted by rank \\d: allReduce #2: )?rank ${i % groupSize} did not arrive within ${TIMEOUT_MS} ms`));
        }
      }
    }
    // Everything a child held went with it: the pool holds after every round what it held after the first.
    const censuses = results[0].map((round: any) => round.census);
    for (const [i, c] of censuses.entries()) expect(c, `round ${i}`).toEqual(censuses[0]);
  });
});
