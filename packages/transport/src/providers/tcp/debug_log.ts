/**
 * COLLECTIVE_DEBUG=INFO (or TRACE) makes the socket listener say where it listens and
 * which connections it made or lost, and endpoints which peers' operations
 * they refused and why (peers are told only that they were refused), in
 * the runtime's line format.
 */
const level = (process.env.COLLECTIVE_DEBUG ?? '').toUpperCase();
/** The NET subsystem of COLLECTIVE_DEBUG_SUBSYS (on unless left out: `^NET`, or a list without NET or ALL). */
function netAsked(env = (process.env.COLLECTIVE_DEBUG_SUBSYS ?? '').trim().toUpperCase()): boolean {
  if (env === '') return true;
  const named = (env.startsWith('^') ? env.slice(1) : env).split(',').some((n) => n.trim() === 'NET' || n.trim() === 'ALL');
  return env.startsWith('^') ? !named : named;
}
export const debugOn = (level === 'INFO' || level === 'TRACE') && netAsked();

export function debugLine(text: string, who = 'listener'): void {
  if (debugOn) process.stderr.write(`${process.pid} [${who}] COLLECTIVE INFO socket: ${text}\n`);
}
