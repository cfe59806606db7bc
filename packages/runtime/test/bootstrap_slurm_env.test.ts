import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { derivePort } from '@collective/runtime';
import { expectOneWorld, jobResults, runJobProcesses } from './helpers/bootstrap_procs.js';

/** A job id whose derived port nothing listens on right now. */
async function freeJobId(): Promise<string> {
  for (;;) {
    const id = String(100000 + Math.floor(Math.random() * 800000));
    const port = derivePort(`slurm:${id}.0`);
    const free = await new Promise<boolean>((resolve) => {
      const s = createServer();
      s.once('error', () => resolve(false));
      s.listen(port, () => s.close(() => resolve(true)));
    });
    if (free) return id;
  }
}

describe('a Slurm-like job step (srun environment, no srun)', () => {
  it('4 tasks on two "nodes" (localhost,node[002]): the store on the first host at a port from SLURM_JOB_ID, topology by host', async () => {
    const jobId = await freeJobId();
    const envs = [0, 1, 2, 3].map((rank) => ({
      SLURM_JOB_ID: jobId,
      SLURM_STEP_ID: '0',
      SLURM_PROCID: String(rank),
      SLURM_NTASKS: '4',
      SLURM_NODEID: String(rank >> 1),
      SLURM_LOCALID: String(rank & 1),
      // The first host must resolve here; the second only has to be counted.
      SLURM_STEP_NODELIST: 'localhost,node[002]',
      SLURM_STEP_NUM_NODES: '2',
      SLURM_STEP_TASKS_PER_NODE: '2(x2)',
      // Two boxes played by one: each "node" gets its own host identity.
      COLLECTIVE_HOST_ID: `slurm-node-${rank >> 1}`,
    }));
    const procs = await runJobProcesses(envs);
    for (const p of procs) expect(p.code, p.stdout + p.stderr).toBe(0);
    const results = jobResults(procs.map((p) => p.stdout).join('\n'));
    expectOneWorld(results, 4);
    for (const x of results) {
      expect(x.launcher).toBe('slurm');
      expect(x.store).toMatchObject({ serve: x.rank === 0, source: 'first host of SLURM_STEP_NODELIST and a port derived from SLURM_JOB_ID' });
      expect(x.hosts).toEqual([
        { hostId: 'slurm-node-0', ranks: [0, 1] },
        { hostId: 'slurm-node-1', ranks: [2, 3] },
      ]);
      expect([x.localRank, x.localWorldSize]).toEqual([x.rank & 1, 2]);
    }
  });
});
