import { describe, expect, it } from 'vitest';
import { fixturePath } from './helpers/bootstrap_procs.js';
import { joinResults, startJob } from './helpers/job_processes.js';

// Review F13: "same process" was decided by equal 31-bit pool ids, so two
// processes that drew the same id took each other for one process and tried
// shm between them. The pool's 128-bit identity decides now.
describe('processes whose pools drew the same id', () => {
  it('are still told apart: every collective runs over tcp between them', async () => {
    const procs = await startJob({ procs: 2, devices: 2, module: 'job_collectives', env: () => ({ NODE_OPTIONS: `--import ${fixturePath('equal_pool_ids')}` }) });
    const results = joinResults(procs);
    expect(results[0]!.poolId).toBe(results[1]!.poolId);
    for (const [p, r] of results.entries()) {
      for (const [i, s] of (r.spmd as { rank: number; connectors: string[] }[]).entries()) {
        expect(s.rank).toBe(p * 2 + i);
        expect(s).toMatchObject({ allReduceOk: true, allGatherOk: true, broadcastOk: true, reduceScatterOk: true, allToAllOk: true, sendRecvOk: true });
        expect(s.connectors).toEqual([0, 1, 2, 3].map((q) => (q === s.rank ? 'self' : Math.floor(q / 2) === p ? 'shm' : 'net')));
      }
    }
  });
});
