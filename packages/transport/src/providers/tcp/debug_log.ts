/**
 * COLLECTIVE_DEBUG=INFO (or TRACE) makes the socket listener say where it listens and
 * which connections it made or lost, in the runtime's line format.
 */
const level = (process.env.COLLECTIVE_DEBUG ?? '').toUpperCase();
export const debugOn = level === 'INFO' || level === 'TRACE';

export function debugLine(text: string): void {
  if (debugOn) process.stderr.write(`${process.pid} [listener] COLLECTIVE INFO socket: ${text}\n`);
}
