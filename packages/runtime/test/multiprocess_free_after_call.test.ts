import { describe, expect, it } from 'vitest';
import { joinResults, startJob } from './helpers/job_processes.js';

describe('a buffer freed right after a call across processes', () => {
  it('2 processes × 1 device: the call is complete when it returns, and the pages\' next owner is never written', async () => {
    const results = joinResults(await startJob({ procs: 2, devices: 1, module: 'free_after_call', env: () => ({ JOIN_JOB_NO_CONTROLLER: '1' }) }));
    const ranks = results.flatMap((r) => r.spmd as { rank: number; failures: string[] }[]);
    expect(ranks).toHaveLength(2);
    for (const r of ranks) expect(r.failures, `rank ${r.rank}`).toEqual([]);
  }, 60_000);
});
