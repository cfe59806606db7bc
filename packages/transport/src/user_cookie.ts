import { randomBytes } from 'node:crypto';
import { chmodSync, linkSync, mkdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
// The job secret a user gives (environment, file) is read by @collective/rendezvous;
// the cookie is the transport's own fallback for sockets opened without a job.
import { jobSecretOfText } from '@collective/rendezvous';

/**
 * The secret of this user on this machine (and on every machine sharing
 * the home directory), for jobs that were given none: a random cookie in
 * ~/.collective/cookie, readable by its owner only and made on first use,
 * like Erlang's distribution cookie. Processes of one user connect without
 * configuration; another user's or another machine's cannot. Undefined
 * when the home directory is unusable (the caller then keeps to its own
 * process).
 */
export function userCookie(dir = join(homedir(), '.collective')): { secret: Uint8Array; path: string } | undefined {
  const path = join(dir, 'cookie');
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    try {
      return { secret: jobSecretOfText(ownerOnly(path), path), path };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    // Written aside and linked into place: two processes making it at once agree on one.
    const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}`;
    writeFileSync(tmp, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
    try {
      linkSync(tmp, path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    } finally {
      unlinkSync(tmp);
    }
    return { secret: jobSecretOfText(ownerOnly(path), path), path };
  } catch {
    return undefined;
  }
}

/** A cookie others can read would protect nothing: it is made private again. */
function ownerOnly(path: string): string {
  const text = readFileSync(path, 'utf8').trim();
  if ((statSync(path).mode & 0o077) !== 0) chmodSync(path, 0o600);
  return text;
}
