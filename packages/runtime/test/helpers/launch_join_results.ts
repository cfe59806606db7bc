import { expect } from 'vitest';
import type { ProcResult } from './bootstrap_procs.js';
import type { JoinResult } from './job_processes.js';

const output = (procs: readonly ProcResult[]): string => procs.map((p) => `exit code ${p.code} signal ${p.signal}\nstdout:\n${p.stdout}\nstderr:\n${p.stderr}`).join('\n');

/**
 * The JOIN_RESULT of every process of a job, in process order, from the
 * output of the launcher (or of each process). Launchers prefix lines
 * ("[rank 1] ", "[default0]:"), so a result is found anywhere on its line.
 * Throws with the whole output unless exactly one result per process is there.
 */
export function launchedJoinResults(runs: readonly ProcResult[], procs: number): JoinResult[] {
  const text = runs.map((p) => p.stdout).join('\n');
  const lines = text.split('\n');
  const failed = lines.filter((l) => l.includes('JOIN_ERROR '));
  if (failed.length > 0) throw new Error(`a process of the job failed: ${failed.join('; ')}\n${output(runs)}`);
  const results = lines
    .map((l) => /JOIN_RESULT (\{.*\})\s*$/.exec(l)?.[1])
    .filter((j): j is string => j !== undefined)
    .map((j) => JSON.parse(j) as JoinResult)
    .sort((a, b) => a.process - b.process);
  const seen = results.map((r) => r.process);
  const wanted = Array.from({ length: procs }, (_, p) => p);
  if (JSON.stringify(seen) !== JSON.stringify(wanted)) {
    throw new Error(`expected one JOIN_RESULT from each of processes ${wanted.join(', ')}, got them from [${seen.join(', ')}]\n${output(runs)}`);
  }
  return results;
}

/**
 * What fixtures/join_job.ts with JOIN_JOB_MODULE=job_collectives must report
 * on every process: one communicator of procs × devices ranks numbered process
 * by process, every collective correct on every rank, shm to the ranks of the
 * same process and net to the others, and the single-controller all-reduce.
 */
export function expectCollectivesJob(results: readonly JoinResult[], procs: number, devices: number, hosts = 1): void {
  const n = procs * devices;
  expect(results).toHaveLength(procs);
  for (const [p, r] of results.entries()) {
    expect(r).toMatchObject({ process: p, hosts, size: n, localSize: devices, rankOffset: p * devices });
    const spmd = r.spmd as { rank: number; connectors: string[] }[];
    expect(spmd).toHaveLength(devices);
    for (const [i, s] of spmd.entries()) {
      expect(s.rank).toBe(p * devices + i);
      expect(s, `rank ${s.rank}`).toMatchObject({ allReduceOk: true, allGatherOk: true, broadcastOk: true, reduceScatterOk: true, allToAllOk: true, sendRecvOk: true });
      expect(s.connectors, `connectors of rank ${s.rank}`).toEqual(Array.from({ length: n }, (_, q) => (q === s.rank ? 'self' : Math.floor(q / devices) === p ? 'shm' : 'net')));
    }
    // 1 + 2 + … + n on every device of every process.
    expect(r.summed).toHaveLength(devices);
    for (const a of r.summed) expect(a).toEqual(new Array(5).fill((n * (n + 1)) / 2));
  }
}
