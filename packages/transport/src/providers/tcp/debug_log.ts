/**
 * COLLECTIVE_DEBUG=INFO (or TRACE) makes the socket listener say where it listens and
 * which connections it made or lost, and endpoints which peers' operations
 * they refused and why (peers are told only that they were refused), in
 * the runtime's line format.
 */
import { debugSubsystems, Subsys } from '../../debug_subsys.js';

const level = (process.env.COLLECTIVE_DEBUG ?? '').toUpperCase();
export const debugOn = (level === 'INFO' || level === 'TRACE') && (debugSubsystems() & Subsys.NET) !== 0;

export function debugLine(text: string, who = 'listener'): void {
  if (debugOn) process.stderr.write(`${process.pid} [${who}] COLLECTIVE INFO socket: ${text}\n`);
}
