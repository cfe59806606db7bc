import { createHash } from 'node:crypto';
import type { JobTopology } from '../bootstrap/job_bootstrap.js';

/**
 * The name of a job's World communicator in flight records and logs, the
 * same on every process: made of what every process of the job holds alike
 * after the rendezvous (the run id, process 0's random bootstrap instance)
 * and the join's store prefix (processes join their Worlds in the same
 * order). Dumps copied from several hosts then join on it, and two runs of
 * a job never share one. Letters, digits and dashes only: it is part of a
 * file name.
 */
export function jobCommLabel(job: JobTopology, joinPrefix: string): string {
  const first = job.ranks[0]!;
  const digest = createHash('sha256').update(`${first.runId}\n${first.instance}\n${joinPrefix}`).digest('hex');
  return `job-${digest.slice(0, 12)}`;
}
