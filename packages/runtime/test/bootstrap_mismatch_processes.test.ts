import { describe, expect, it } from 'vitest';
import { freePort, runJobProcesses } from './helpers/bootstrap_procs.js';

describe('processes that disagree fail fast, every one of them, with the reason', () => {
  it('an option that differs on one rank stops all three well before the deadline', async () => {
    const port = await freePort();
    const envs = [0, 1, 2].map((rank) => ({
      RANK: String(rank),
      WORLD_SIZE: '3',
      MASTER_ADDR: '127.0.0.1',
      MASTER_PORT: String(port),
      BOOTSTRAP_JOB_OPTIONS: JSON.stringify({ algo: rank === 2 ? 'tree' : 'ring' }),
      BOOTSTRAP_JOB_TIMEOUT_MS: '30000',
    }));
    const t0 = performance.now();
    const procs = await runJobProcesses(envs, 40_000);
    expect(performance.now() - t0).toBeLessThan(15_000);
    for (const p of procs) {
      expect(p.code).toBe(3);
      expect(p.stdout).toMatch(/BOOTSTRAP_ERROR .*option 'algo' differs: rank 0 .* has "ring", rank 2 .* has "tree"/);
    }
  });

  it('a rank that never starts is named in everyone else\'s timeout', async () => {
    const port = await freePort();
    const envs = [0, 1].map((rank) => ({ RANK: String(rank), WORLD_SIZE: '3', MASTER_ADDR: '127.0.0.1', MASTER_PORT: String(port), BOOTSTRAP_JOB_TIMEOUT_MS: '1500' }));
    const procs = await runJobProcesses(envs);
    for (const p of procs) {
      expect(p.code).toBe(3);
      expect(p.stdout).toMatch(/BOOTSTRAP_ERROR .*1 of 3 ranks did not publish their records within 1500 ms: rank 2/);
    }
  });
});
