import type { JobTopology } from '@collective/rendezvous';

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
  return `job-${hash48(`${first.runId}\n${first.instance}\n${joinPrefix}`)}`;
}

/**
 * 48 bits of two FNV-1a hashes with different offsets, as 12 hex digits: a
 * name, not a secret (the instance in it is random already), and no
 * `node:crypto`, so that the World compiles for a web page as well.
 */
function hash48(text: string): string {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ 0x9e3779b9;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x01000193);
  }
  return ((a >>> 0).toString(16).padStart(8, '0') + (b >>> 0).toString(16).padStart(8, '0')).slice(0, 12);
}
