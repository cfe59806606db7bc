import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { open, readFile, readdir, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import {
  DEFAULT_STORE_TIMEOUT_MS,
  type Store,
  StoreError,
  type StoreValue,
  checkDelta,
  checkKey,
  checkKeys,
  checkTimeout,
  counterResult,
  delay,
  describeKeys,
  parseCounter,
  sameBytes,
  toBytes,
} from './store.js';

export interface FileStoreOptions {
  /** default deadline of get, wait and of taking a key's lock; default 300 s */
  timeoutMs?: number;
  /** how often wait polls the directory; default 10 ms */
  pollMs?: number;
  /** a key lock older than this is considered left by a dead process and broken; default 30 s */
  staleLockMs?: number;
}

const VALUE = 'k-';
const LOCK = 'l-';
const TMP = '.tmp-';

const isErrno = (e: unknown, code: string): boolean => (e as NodeJS.ErrnoException | null)?.code === code;

/**
 * A store in a shared directory (Gloo's FileStore design): one file per key,
 * named by the key's SHA-256, written to a temporary file and renamed into
 * place so readers see the old value or the new one, never a torn one. Waits
 * poll instead of using inotify, which NFS does not deliver. Read-modify-write
 * calls (add, compareSet) and writes take a per-key lock file created with
 * O_EXCL, which is atomic on NFS v3 and later.
 */
export class FileStore implements Store {
  readonly timeoutMs: number;
  private readonly pollMs: number;
  private readonly staleLockMs: number;
  private closed = false;

  constructor(
    readonly dir: string,
    options: FileStoreOptions = {},
  ) {
    if (typeof dir !== 'string' || dir.length === 0) throw new StoreError('EINVAL', `dir must be a non-empty path (got ${JSON.stringify(dir)})`);
    this.timeoutMs = checkTimeout(options.timeoutMs ?? DEFAULT_STORE_TIMEOUT_MS, 'options.timeoutMs');
    this.pollMs = checkTimeout(options.pollMs ?? 10, 'options.pollMs');
    this.staleLockMs = checkTimeout(options.staleLockMs ?? 30_000, 'options.staleLockMs');
    try {
      mkdirSync(dir, { recursive: true });
    } catch (e) {
      throw new StoreError('EACCES', `cannot create the store directory ${dir}: ${(e as Error).message}`);
    }
  }

  private file(key: string, kind = VALUE): string {
    return join(this.dir, kind + createHash('sha256').update(key, 'utf8').digest('hex'));
  }

  async set(key: string, value: StoreValue): Promise<void> {
    this.open();
    checkKey(key);
    const bytes = toBytes(value);
    await this.locked(key, () => this.write(key, bytes));
  }

  async get(key: string, timeoutMs?: number): Promise<Uint8Array> {
    checkKey(key);
    await this.wait([key], timeoutMs);
    const value = await this.read(key);
    if (value === undefined) throw new StoreError('ENOENT', `get('${key}'): the key was deleted while waiting for it`, [key]);
    return value;
  }

  async add(key: string, delta: number): Promise<number> {
    this.open();
    checkKey(key);
    checkDelta(delta);
    return this.locked(key, async () => {
      const sum = parseCounter(key, await this.read(key)) + BigInt(delta);
      const result = counterResult(key, sum);
      await this.write(key, new TextEncoder().encode(sum.toString()));
      return result;
    });
  }

  async compareSet(key: string, expected: StoreValue, desired: StoreValue): Promise<Uint8Array> {
    this.open();
    checkKey(key);
    const want = toBytes(expected);
    const next = toBytes(desired);
    return this.locked(key, async () => {
      const current = await this.read(key);
      if (current === undefined && want.length !== 0) return want.slice();
      if (current === undefined || sameBytes(current, want)) {
        await this.write(key, next);
        return next.slice();
      }
      return current;
    });
  }

  async wait(keys: readonly string[], timeoutMs?: number): Promise<void> {
    this.open();
    checkKeys(keys);
    const ms = checkTimeout(timeoutMs ?? this.timeoutMs);
    const deadline = Date.now() + ms;
    let pending = [...new Set(keys)];
    for (;;) {
      const present = await Promise.all(pending.map((k) => this.exists(k)));
      pending = pending.filter((_, i) => !present[i]);
      if (pending.length === 0) return;
      if (this.closed) throw new StoreError('ECANCELED', `wait for ${describeKeys(keys)}: the store was closed`, keys);
      if (Date.now() >= deadline) {
        throw new StoreError('ETIMEDOUT', `wait timed out after ${ms} ms; missing keys: ${describeKeys(pending)} (store directory ${this.dir})`, pending);
      }
      await delay(Math.min(this.pollMs, Math.max(1, deadline - Date.now())));
    }
  }

  async check(keys: readonly string[]): Promise<boolean> {
    this.open();
    const present = await Promise.all(checkKeys(keys).map((k) => this.exists(k)));
    return present.every(Boolean);
  }

  async deleteKey(key: string): Promise<boolean> {
    this.open();
    checkKey(key);
    return this.locked(key, async () => {
      try {
        await unlink(this.file(key));
        return true;
      } catch (e) {
        if (isErrno(e, 'ENOENT')) return false;
        throw e;
      }
    });
  }

  async numKeys(): Promise<number> {
    this.open();
    return (await readdir(this.dir)).filter((name) => name.startsWith(VALUE)).length;
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  // The file system calls below have no deadline of their own: a local file
  // system answers at once, and a hard-mounted NFS that stops answering
  // blocks them in the kernel, where no timer here could end them.
  private async exists(key: string): Promise<boolean> {
    try {
      await stat(this.file(key));
      return true;
    } catch (e) {
      if (isErrno(e, 'ENOENT')) return false;
      throw e;
    }
  }

  private async read(key: string): Promise<Uint8Array | undefined> {
    try {
      return new Uint8Array(await readFile(this.file(key)));
    } catch (e) {
      if (isErrno(e, 'ENOENT')) return undefined;
      throw e;
    }
  }

  private async write(key: string, bytes: Uint8Array): Promise<void> {
    const tmp = join(this.dir, `${TMP}${process.pid}-${randomBytes(6).toString('hex')}`);
    await writeFile(tmp, bytes);
    try {
      await rename(tmp, this.file(key));
    } catch (e) {
      await unlink(tmp).catch(() => {});
      throw e;
    }
  }

  private async locked<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const lock = this.file(key, LOCK);
    const deadline = Date.now() + this.timeoutMs;
    let pause = 1;
    for (;;) {
      let h: Awaited<ReturnType<typeof open>> | undefined;
      try {
        h = await open(lock, 'wx');
        // Who holds it, for the message of whoever times out waiting.
        await h.writeFile(`${hostname()} ${process.pid} ${new Date().toISOString()}\n`);
        await h.close();
        break;
      } catch (e) {
        if (h !== undefined) {
          await h.close().catch(() => {});
          await unlink(lock).catch(() => {});
        }
        if (!isErrno(e, 'EEXIST')) throw new StoreError('EIO', `cannot lock key '${key}' in ${this.dir}: ${(e as Error).message}`, [key]);
      }
      const age = await stat(lock).then(
        (s) => Date.now() - s.mtimeMs,
        () => 0,
      );
      if (age > this.staleLockMs) {
        // Its holder died mid-update; the value file itself is whole (rename).
        await unlink(lock).catch(() => {});
        continue;
      }
      if (Date.now() >= deadline) {
        const holder = await readFile(lock, 'utf8').then((t) => t.trim(), () => 'unknown');
        throw new StoreError('ETIMEDOUT', `could not lock key '${key}' within ${this.timeoutMs} ms: ${lock} is held by ${holder}`, [key]);
      }
      await delay(pause);
      pause = Math.min(pause * 2, this.pollMs);
    }
    try {
      return await fn();
    } finally {
      await unlink(lock).catch(() => {});
    }
  }

  private open(): void {
    if (this.closed) throw new StoreError('ECANCELED', `the store at ${this.dir} is closed`);
  }
}
