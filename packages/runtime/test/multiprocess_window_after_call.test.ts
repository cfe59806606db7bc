import { describe, expect, it } from 'vitest';
import { joinResults, startJob } from './helpers/job_processes.js';

describe("a user buffer's key after the call across processes that used it", () => {
  it('2 processes × 1 device: a write with it is refused (EACCES) and the buffer keeps the call\'s result', async () => {
    const results = joinResults(await startJob({ procs: 2, devices: 1, module: 'window_after_call', env: () => ({ JOIN_JOB_NO_CONTROLLER: '1' }) }));
    const ranks = results.flatMap((r) => r.spmd as { rank: number; reduced: boolean; outcome: string; untouched: boolean }[]).sort((x, y) => x.rank - y.rank);
    expect(ranks.map((r) => r.reduced)).toEqual([true, true]);
    expect(ranks[1]!.outcome).toMatch(/^EACCES: the write of 16 bytes at offset 0 of remote key \d+ was refused by tcp peer /);
    expect(ranks[0]!.untouched).toBe(true);
  }, 60_000);
});
