import { describe, expect, it } from 'vitest';
import { startJob } from './helpers/job_processes.js';

describe('the job secret across processes', () => {
  it('two processes holding different secrets never exchange data: both fail, saying so, instead of hanging', async () => {
    const procs = await startJob({ procs: 2, devices: 1, module: 'job_collectives', timeoutMs: 60_000, env: (rank) => ({ COLLECTIVE_JOB_SECRET: `secret-of-process-${rank}-0123456789`, JOIN_JOB_CALL_TIMEOUT_MS: '5000', JOIN_JOB_JOIN_TIMEOUT_MS: '8000' }) });
    for (const p of procs) {
      expect(p.code).not.toBe(0);
      expect(p.stdout).not.toContain('JOIN_RESULT');
      // The store is locked with the host's secret: the other process is refused there and says so;
      // the host waits for it until its join deadline and names the refusals.
      expect(`${p.stdout}\n${p.stderr}`).toMatch(/started with another secret|did not prove this job's secret/);
    }
  });

  it('refuses a secret too short to be one before joining', async () => {
    const procs = await startJob({ procs: 2, devices: 1, module: 'job_collectives', timeoutMs: 60_000, env: () => ({ COLLECTIVE_JOB_SECRET: 'short' }) });
    for (const p of procs) {
      expect(p.code).not.toBe(0);
      expect(`${p.stdout}\n${p.stderr}`).toMatch(/the job secret in COLLECTIVE_JOB_SECRET has 5 characters; it needs at least 16/);
    }
  });
});
