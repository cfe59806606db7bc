import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { StoreError } from './store.js';

export const JOB_SECRET_ENV = 'COLLECTIVE_JOB_SECRET';
export const JOB_SECRET_FILE_ENV = 'COLLECTIVE_JOB_SECRET_FILE';
const MIN_CHARS = 16;

type Env = Readonly<Record<string, string | undefined>>;

/**
 * The job's store secret, when the environment gives one: the SHA-256 of
 * COLLECTIVE_JOB_SECRET, or of the trimmed content of the file that
 * COLLECTIVE_JOB_SECRET_FILE names (readable by its owner only). Errors name
 * the variable and never show the secret.
 */
export function jobSecretFromEnv(env: Env = process.env): Uint8Array | undefined {
  const text = env[JOB_SECRET_ENV];
  const file = env[JOB_SECRET_FILE_ENV];
  const given = (v: string | undefined) => v !== undefined && v !== '';
  if (given(text) && given(file)) throw new StoreError('EINVAL', `both ${JOB_SECRET_ENV} and ${JOB_SECRET_FILE_ENV} are set; set only one of them`);
  if (given(text)) return digest(text as string, JOB_SECRET_ENV);
  if (given(file)) return digest(readSecretFile(file as string), `the file ${JOB_SECRET_FILE_ENV} names (${file})`);
  return undefined;
}

/** A fresh secret for a job that was given none: 32 random bytes as hex. */
export function newJobSecretText(): string {
  return randomBytes(32).toString('hex');
}

function digest(secret: string, where: string): Uint8Array {
  if (secret.length < MIN_CHARS) {
    throw new StoreError('EINVAL', `the job secret in ${where} has ${secret.length} characters; it needs at least ${MIN_CHARS} (use a long random string, e.g. the output of \`openssl rand -hex 32\`)`);
  }
  return new Uint8Array(createHash('sha256').update(secret, 'utf8').digest());
}

function readSecretFile(path: string): string {
  let mode: number;
  try {
    mode = statSync(path).mode;
  } catch (e) {
    throw new StoreError('ENOENT', `${JOB_SECRET_FILE_ENV}=${path} cannot be read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  if ((mode & 0o077) !== 0) {
    throw new StoreError('EINVAL', `${JOB_SECRET_FILE_ENV}=${path} can be read or written by others (mode ${(mode & 0o777).toString(8).padStart(4, '0')}); make it private with chmod 600 ${path}`);
  }
  try {
    return readFileSync(path, 'utf8').trim();
  } catch (e) {
    throw new StoreError('EACCES', `${JOB_SECRET_FILE_ENV}=${path} cannot be read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}
