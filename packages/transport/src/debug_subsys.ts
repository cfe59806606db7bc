/**
 * COLLECTIVE_DEBUG_SUBSYS, as NCCL_DEBUG_SUBSYS: which subsystems'
 * COLLECTIVE_DEBUG lines are written. A comma list of INIT (setup), COLL (a
 * line per call), NET (sockets) or ALL, or `^` and a list to leave out; the
 * default is every subsystem but COLL, so a job's log holds its setup, not
 * a line per call. Read by the runtime and by the socket provider alike.
 */
import { envSetting } from './platform.js';

export const DEBUG_SUBSYS_ENV = 'COLLECTIVE_DEBUG_SUBSYS';

export const Subsys = { INIT: 1, COLL: 2, NET: 4, ALL: 7 } as const;

/** The subsystems asked for, as a mask of Subsys bits (unknown names are ignored, as NCCL does: a debug setting never stops a job). */
export function debugSubsystems(env: string | undefined = envSetting(DEBUG_SUBSYS_ENV)): number {
  if (env === undefined || env.trim() === '') return Subsys.ALL & ~Subsys.COLL;
  const text = env.trim().toUpperCase();
  const invert = text.startsWith('^');
  let mask = 0;
  for (const name of (invert ? text.slice(1) : text).split(',')) mask |= (Subsys as Record<string, number>)[name.trim()] ?? 0;
  return invert ? Subsys.ALL & ~mask : mask;
}
