import { describe, expect, it } from 'vitest';
import { Worker } from 'node:worker_threads';
import { Communicator } from '@collective/runtime';
import { Pool } from '@collective/transport';

const fixture = new URL('../dist-test/fixtures/raw_rank.js', import.meta.url);

describe('a rank thread made with Communicator.init that is terminated inside a call (no World, no pool.watch)', () => {
  it('costs the other ranks no more than their timeout, and destroy() does not wait for the dead thread', async () => {
    const pool = Pool.create({ bytes: 64 << 20 });
    const id = Communicator.createId(pool, 3);
    const roles = ['waiter', 'victim', 'absent'] as const;
    const workers = roles.map((role, rank) => new Worker(fixture, { workerData: { pool: pool.describe(), id, rank, role } }));
    const messages = workers.map((w) => {
      const queue: any[] = [];
      const waiting: ((m: any) => void)[] = [];
      w.on('message', (m) => (waiting.length > 0 ? waiting.shift()!(m) : queue.push(m)));
      return () => (queue.length > 0 ? Promise.resolve(queue.shift()) : new Promise<any>((r) => waiting.push(r)));
    });
    try {
      await Promise.all(messages.map((next) => next()));
      // Ranks 0 and 1 are in the second call, waiting for rank 2; rank 1's thread ends there.
      await new Promise((r) => setTimeout(r, 300));
      await workers[1]!.terminate();
      const r0 = await messages[0]!();
      expect(r0.error).toMatch(/ETIMEDOUT|died|aborted/);
      // Its own 3 s timeout (typically 3.0 s), not 10 s more for the dead thread's drain (13 s, as before):
      // the bound leaves 3x the typical time on a loaded machine and still tells the two apart.
      expect(r0.failedMs).toBeLessThan(10_000);
      expect(r0.destroyMs).toBeLessThan(3000);
    } finally {
      await Promise.all(workers.map((w) => w.terminate()));
    }
  }, 30_000);
});
