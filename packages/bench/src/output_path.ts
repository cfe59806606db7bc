import { accessSync, constants, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { TransportError } from '@collective/transport';

/**
 * Checks that `path` can be written, before a sweep of minutes rather than
 * after it: the folder exists and is writable, and the path is not a folder.
 */
export function checkOutputPath(flag: string, path: string): void {
  const full = resolve(path);
  const dir = dirname(full);
  let dirStat;
  try {
    dirStat = statSync(dir);
  } catch {
    throw new TransportError('ENOENT', `${flag} ${path}: the folder ${dir} does not exist; create it first or pick another path`);
  }
  if (!dirStat.isDirectory()) throw new TransportError('ENOENT', `${flag} ${path}: ${dir} is not a folder`);
  try {
    accessSync(dir, constants.W_OK);
  } catch {
    throw new TransportError('EACCES', `${flag} ${path}: the folder ${dir} is not writable`);
  }
  let target;
  try {
    target = statSync(full);
  } catch {
    return;
  }
  if (target.isDirectory()) throw new TransportError('EINVAL', `${flag} ${path} is a folder; give a file name`);
}
