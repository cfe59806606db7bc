/**
 * COLLECTIVE_DEBUG, read as the runtime reads it (OFF, INFO, TRACE), so the
 * store server's lines follow the same switch without this package
 * depending on the runtime.
 */
export const DEBUG_ENV = 'COLLECTIVE_DEBUG';

export const enum Level {
  OFF = 0,
  INFO = 1,
  TRACE = 2,
}

export function debugLevel(env: string | undefined = process.env[DEBUG_ENV]): Level {
  const v = (env ?? '').toUpperCase();
  if (v === 'TRACE') return Level.TRACE;
  if (v === 'INFO') return Level.INFO;
  return Level.OFF;
}
