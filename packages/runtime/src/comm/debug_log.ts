/**
 * COLLECTIVE_DEBUG=INFO logs communicator setup (and, with the COLL
 * subsystem, the algorithm of every call); TRACE adds registrations and
 * aborts. COLLECTIVE_DEBUG_SUBSYS picks subsystems as NCCL_DEBUG_SUBSYS
 * does: a comma list of INIT, COLL, NET or ALL, or `^` and a list to leave
 * out; the default is every subsystem but COLL, so a job's log holds its
 * setup, not a line per call.
 */
export const DEBUG_ENV = 'COLLECTIVE_DEBUG';
export const DEBUG_SUBSYS_ENV = 'COLLECTIVE_DEBUG_SUBSYS';

export const enum Subsys {
  INIT = 1,
  COLL = 2,
  NET = 4,
  ALL = 7,
}

const SUBSYS_NAMES: Record<string, Subsys> = { INIT: Subsys.INIT, COLL: Subsys.COLL, NET: Subsys.NET, ALL: Subsys.ALL };

/** The subsystems asked for (unknown names are ignored, as NCCL does: a debug setting never stops a job). */
export function debugSubsystems(env: string | undefined = process.env[DEBUG_SUBSYS_ENV]): number {
  if (env === undefined || env.trim() === '') return Subsys.ALL & ~Subsys.COLL;
  const text = env.trim().toUpperCase();
  const invert = text.startsWith('^');
  let mask = 0;
  for (const name of (invert ? text.slice(1) : text).split(',')) mask |= SUBSYS_NAMES[name.trim()] ?? 0;
  return invert ? Subsys.ALL & ~mask : mask;
}

export const enum Level {
  OFF = 0,
  INFO = 1,
  TRACE = 2,
}

/** The level asked for, read once by each communicator (process.env is slow). */
export function debugLevel(env: string | undefined = process.env[DEBUG_ENV]): Level {
  const v = (env ?? '').toUpperCase();
  if (v === 'TRACE') return Level.TRACE;
  if (v === 'INFO') return Level.INFO;
  return Level.OFF;
}

/** One line on stderr, prefixed like NCCL's: host:pid:thread [rank] COLLECTIVE INFO … */
export function debugLine(rank: number, level: Level, text: string): void {
  process.stderr.write(`${process.pid} [${rank}] COLLECTIVE ${level === Level.TRACE ? 'TRACE' : 'INFO'} ${text}\n`);
}
