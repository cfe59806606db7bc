import { describe, expect, it } from 'vitest';
import { fixture, withWorld } from './helpers/world.js';

describe('a rank that arrives after its peers timed out', () => {
  it.each(['twoshot', 'oneshot', 'ring'])('does not run the abandoned %s call, and the peers keep the data they wrote since', async (algo) => {
    const results = await withWorld(3, (w) => w.launch<any>(fixture('late_rank'), { late: 2, timeoutMs: 200, algo }));
    for (const r of results.slice(0, 2)) {
      expect(r.error.code).toBe('ETIMEDOUT');
      expect(r.error.message).toMatch(/allReduce #\d+: rank 2 did not arrive within 200 ms/);
      expect(r.recvKept).toBe(true);
      expect(r.sendKept).toBe(true);
    }
    expect(results[2].error.message).toMatch(/aborted by rank [01]: allReduce #\d+: rank 2 did not arrive within 200 ms/);
    expect(results[2].recvUntouched).toBe(true);
  });
});
