import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { fail } from './errors.js';

export const JOB_SECRET_ENV = 'COLLECTIVE_JOB_SECRET';
export const JOB_SECRET_FILE_ENV = 'COLLECTIVE_JOB_SECRET_FILE';
/** Shorter secrets are refused: they could be guessed offline from one recorded handshake. */
const MIN_CHARS = 16;

type Env = Readonly<Record<string, string | undefined>>;

/** The 32-byte key of a secret given as text (SHA-256); `where` names its source in errors, which never show the secret. */
export function jobSecretOfText(text: string, where: string): Uint8Array {
  if (text.length < MIN_CHARS) {
    fail('EINVAL', `the job secret in ${where} has ${text.length} characters; it needs at least ${MIN_CHARS} (use a long random string, e.g. the output of \`openssl rand -hex 32\`)`);
  }
  return new Uint8Array(createHash('sha256').update(text, 'utf8').digest());
}

/**
 * The job secret the environment gives, or undefined: COLLECTIVE_JOB_SECRET
 * itself, or the trimmed content of the file COLLECTIVE_JOB_SECRET_FILE
 * names, which only its owner may read (a secret others can read protects
 * nothing). Errors name the variable and never show the secret.
 */
export function jobSecretFromEnv(env: Env = process.env): Uint8Array | undefined {
  const text = env[JOB_SECRET_ENV];
  const file = env[JOB_SECRET_FILE_ENV];
  const given = (v: string | undefined): v is string => v !== undefined && v !== '';
  if (given(text) && given(file)) fail('EINVAL', `both ${JOB_SECRET_ENV} and ${JOB_SECRET_FILE_ENV} are set; set only one of them`);
  if (given(text)) return jobSecretOfText(text, JOB_SECRET_ENV);
  if (given(file)) return jobSecretOfText(readSecretFile(file), `the file ${JOB_SECRET_FILE_ENV} names (${file})`);
  return undefined;
}

/** A fresh secret for a job that was given none: 32 random bytes as hex. */
export function newJobSecretText(): string {
  return randomBytes(32).toString('hex');
}

function readSecretFile(path: string): string {
  let mode: number;
  try {
    mode = statSync(path).mode;
  } catch (e) {
    return fail('ENOENT', `${JOB_SECRET_FILE_ENV}=${path} cannot be read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  if ((mode & 0o077) !== 0) {
    fail('EINVAL', `${JOB_SECRET_FILE_ENV}=${path} can be read or written by others (mode ${(mode & 0o777).toString(8).padStart(4, '0')}); make it private with chmod 600 ${path}`);
  }
  try {
    return readFileSync(path, 'utf8').trim();
  } catch (e) {
    return fail('EACCES', `${JOB_SECRET_FILE_ENV}=${path} cannot be read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}
