import { envSetting, logLine, processId } from '@collective/transport/runtime';
/**
 * COLLECTIVE_DEBUG=INFO logs communicator setup (and, with the COLL
 * subsystem, the algorithm of every call); TRACE adds registrations and
 * aborts. COLLECTIVE_DEBUG_SUBSYS picks subsystems (INIT, COLL, NET) as
 * NCCL_DEBUG_SUBSYS does; by default every one but COLL.
 */
export const DEBUG_ENV = 'COLLECTIVE_DEBUG';
// Subsystems (COLLECTIVE_DEBUG_SUBSYS) are parsed in one place, the transport, whose socket lines they govern too.
export { DEBUG_SUBSYS_ENV, debugSubsystems, Subsys } from '@collective/transport';

export const enum Level {
  OFF = 0,
  INFO = 1,
  TRACE = 2,
}

/** The level asked for, read once by each communicator (process.env is slow). */
export function debugLevel(env: string | undefined = envSetting(DEBUG_ENV)): Level {
  const v = (env ?? '').toUpperCase();
  if (v === 'TRACE') return Level.TRACE;
  if (v === 'INFO') return Level.INFO;
  return Level.OFF;
}

/** One line on stderr, prefixed like NCCL's: host:pid:thread [rank] COLLECTIVE INFO … */
export function debugLine(rank: number, level: Level, text: string): void {
  logLine(`${processId()} [${rank}] COLLECTIVE ${level === Level.TRACE ? 'TRACE' : 'INFO'} ${text}`);
}
