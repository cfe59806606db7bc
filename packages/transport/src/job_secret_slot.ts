// The job secret's place in the pool: setting and reading it needs no
// file or process, so a page's build has it too (the tcp provider, which
// checks it, and the readers of the environment (@collective/rendezvous) and of
// the user's cookie (user_cookie.ts) stay outside).
import { Header } from './control_layout.js';
import { fail } from './errors.js';
import type { Pool } from './pool.js';

export const JOB_SECRET_BYTES = 32;

/**
 * Makes `secret` (32 bytes) this process's job secret: every socket
 * connection to or from the process's listener proves it holds it. Set it
 * before the first socket endpoint opens; the listener reads it once.
 */
export function setJobSecret(pool: Pool, secret: Uint8Array): void {
  if (!(secret instanceof Uint8Array) || secret.length !== JOB_SECRET_BYTES) fail('EINVAL', `the job secret must be ${JOB_SECRET_BYTES} bytes (got ${secret instanceof Uint8Array ? secret.length : typeof secret}); derive it with jobSecretOfText()`);
  const words = new Int32Array(secret.buffer.slice(secret.byteOffset, secret.byteOffset + JOB_SECRET_BYTES));
  for (let i = 0; i < Header.JOB_SECRET_WORDS; i++) Atomics.store(pool.ctl, Header.JOB_SECRET + i, words[i]!);
  Atomics.store(pool.ctl, Header.JOB_SECRET_SET, 1);
}

/** The job secret set on this pool, or undefined. */
export function jobSecretOf(pool: Pool): Uint8Array | undefined {
  if (Atomics.load(pool.ctl, Header.JOB_SECRET_SET) !== 1) return undefined;
  const words = new Int32Array(Header.JOB_SECRET_WORDS);
  for (let i = 0; i < Header.JOB_SECRET_WORDS; i++) words[i] = Atomics.load(pool.ctl, Header.JOB_SECRET + i);
  return new Uint8Array(words.buffer);
}
