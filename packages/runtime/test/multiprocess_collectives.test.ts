import { describe, expect, it } from 'vitest';
import { joinResults, startJob } from './helpers/job_processes.js';

async function runJob(procs: number, devices: number, module: string) {
  return joinResults(await startJob({ procs, devices, module }));
}

describe('a World joined across processes', () => {
  it.each([
    [2, 2],
    [3, 1],
  ])('%i processes × %i devices: every collective over one communicator, shm inside a process and tcp between', async (procs, devices) => {
    const results = await runJob(procs, devices, 'job_collectives');
    const n = procs * devices;
    for (const [p, r] of results.entries()) {
      expect(r).toMatchObject({ process: p, size: n, localSize: devices, rankOffset: p * devices });
      for (const [i, s] of (r.spmd as { rank: number; connectors: string[] }[]).entries()) {
        expect(s.rank).toBe(p * devices + i);
        expect(s).toMatchObject({ allReduceOk: true, allGatherOk: true, broadcastOk: true, reduceScatterOk: true, allToAllOk: true, sendRecvOk: true });
        // Ranks numbered process by process: the same process's ranks are shm, the others net.
        expect(s.connectors).toEqual(Array.from({ length: n }, (_, q) => (q === s.rank ? 'self' : Math.floor(q / devices) === p ? 'shm' : 'net')));
      }
      // The single-controller all-reduce: 1 + 2 + … + n on every device.
      for (const a of r.summed) expect(a).toEqual(new Array(5).fill((n * (n + 1)) / 2));
    }
  });
});
