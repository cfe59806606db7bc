import { randomInt } from 'node:crypto';
import {
  DEFAULT_STORE_TIMEOUT_MS,
  type Store,
  StoreError,
  type StoreValue,
  checkDelta,
  checkKey,
  checkKeys,
  checkTimeout,
  delay,
  describeKeys,
  toBytes,
} from './store.js';
import { AUTH_OP, AUTH_VERSION, authTag, checkSecret, newNonce, tagMatches } from './tcp_store_auth.js';
import { CHECK_READY, FrameWriter, type QueryName, SERVER_PROBE_KEY, type StoreDialect, VALIDATION_MAGIC, WAIT_CANCELED, WAIT_STOP_WAITING, opcodeOf } from './tcp_store_codec.js';
import { Link } from './tcp_store_link.js';

export interface TCPStoreOptions {
  host: string;
  port: number;
  /** default deadline of every call; default 300 s */
  timeoutMs?: number;
  /** how long to keep retrying the first connection (the server may start later); default timeoutMs */
  connectTimeoutMs?: number;
  /**
   * wire dialect: 'legacy' for torch ≤ 2.0 (Debian's 1.13), 'v2' for torch ≥ 2.1,
   * 'auto' (default) probes with a query both torch 1.13 and our server answer
   * and that newer servers refuse; our own server is then spoken to in v2.
   */
  dialect?: 'auto' | StoreDialect;
  /** prepended to every key; torch's client uses '/', so the default lets both share keys */
  keyPrefix?: string;
  /** count this client in torch's 'init/' key once connected, as torch's clients with a world size do */
  registerWorker?: boolean;
  /**
   * the job secret (jobSecretFromEnv): every connection opens with the AUTH
   * exchange, which also proves the server knows it; only our server speaks
   * it, so leave it out for a store torch hosts
   */
  secret?: Uint8Array;
}

const RETRYABLE_CONNECT = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOENT', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'EAI_AGAIN', 'EADDRNOTAVAIL']);

/**
 * A TCPStore client (torch's wire protocol). Calls run one at a time on one
 * connection, as torch's client does; a lost connection is re-opened by the
 * next call, and calls that are safe to repeat (get, wait, check, set,
 * numKeys) are retried once on a fresh connection within their deadline.
 */
export class TCPStore implements Store {
  readonly timeoutMs: number;
  private readonly keyPrefix: string;
  private readonly secret: Buffer | undefined;
  private link: Link | undefined;
  private tail: Promise<unknown> = Promise.resolve();
  private closed = false;

  private constructor(
    readonly host: string,
    readonly port: number,
    private chosen: StoreDialect | undefined,
    options: TCPStoreOptions,
  ) {
    this.timeoutMs = checkTimeout(options.timeoutMs ?? DEFAULT_STORE_TIMEOUT_MS, 'options.timeoutMs');
    this.keyPrefix = options.keyPrefix ?? '/';
    this.secret = options.secret === undefined ? undefined : checkSecret(options.secret, 'options.secret');
  }

  static async connect(options: TCPStoreOptions): Promise<TCPStore> {
    const { host, port } = options;
    if (typeof host !== 'string' || host.length === 0) throw new StoreError('EINVAL', `options.host must be a host name or address (got ${JSON.stringify(host)})`);
    if (!Number.isSafeInteger(port) || port <= 0 || port > 65535) throw new StoreError('EINVAL', `options.port must be an integer from 1 to 65535 (got ${String(port)})`);
    const dialect = options.dialect ?? 'auto';
    if (!['auto', 'legacy', 'v2'].includes(dialect)) throw new StoreError('EINVAL', `options.dialect must be auto, legacy or v2 (got ${String(dialect)})`);
    if (options.keyPrefix !== undefined && typeof options.keyPrefix !== 'string') throw new StoreError('EINVAL', `options.keyPrefix must be a string`);
    const store = new TCPStore(host, port, dialect === 'auto' ? undefined : dialect, options);
    const connectMs = checkTimeout(options.connectTimeoutMs ?? store.timeoutMs, 'options.connectTimeoutMs');
    await store.serial(async () => {
      const link = await store.ensureLink(Date.now() + connectMs);
      if (options.registerWorker) {
        link.send(new FrameWriter().u8(store.op('ADD')).bytes('init/').i64(1).finish());
        await store.reply(link, link.read('i64'), Date.now() + store.timeoutMs, "add('init/')");
      }
    });
    return store;
  }

  /** the dialect this client speaks (after the first connection) */
  get dialect(): StoreDialect {
    return this.chosen ?? 'legacy';
  }

  get address(): string {
    return this.host.includes(':') ? `[${this.host}]:${this.port}` : `${this.host}:${this.port}`;
  }

  async set(key: string, value: StoreValue): Promise<void> {
    const k = this.key(key);
    const v = toBytes(value);
    return this.call(`set('${key}')`, true, undefined, async (link, deadline) => {
      // SET has no reply; the CHECK behind it (answered in order) confirms the
      // server has it, so a set on a connection that just died is not lost.
      link.send(Buffer.concat([new FrameWriter().u8(this.op('SET')).bytes(k).bytes(v).finish(), new FrameWriter().u8(this.op('CHECK')).strings([]).finish()]));
      await this.reply(link, link.read('u8'), deadline, `set('${key}')`);
    });
  }

  async get(key: string, timeoutMs?: number): Promise<Uint8Array> {
    const k = this.key(key);
    const ms = checkTimeout(timeoutMs ?? this.timeoutMs);
    return this.call(`get('${key}')`, true, ms, async (link, deadline) => {
      await this.waitOn(link, [k], [key], deadline, ms);
      link.send(new FrameWriter().u8(this.op('GET')).bytes(k).finish());
      return new Uint8Array(await this.reply(link, link.read('bytes'), deadline, `get('${key}')`));
    });
  }

  async add(key: string, delta: number): Promise<number> {
    const k = this.key(key);
    checkDelta(delta);
    return this.call(`add('${key}')`, false, undefined, async (link, deadline) => {
      link.send(new FrameWriter().u8(this.op('ADD')).bytes(k).i64(delta).finish());
      const sum = await this.reply(link, link.read('i64'), deadline, `add('${key}')`);
      if (sum > BigInt(Number.MAX_SAFE_INTEGER) || sum < BigInt(Number.MIN_SAFE_INTEGER)) throw new StoreError('EINVAL', `add('${key}'): the sum ${sum} is outside the safe integer range`);
      return Number(sum);
    });
  }

  async compareSet(key: string, expected: StoreValue, desired: StoreValue): Promise<Uint8Array> {
    const k = this.key(key);
    const e = toBytes(expected);
    const d = toBytes(desired);
    return this.call(`compareSet('${key}')`, false, undefined, async (link, deadline) => {
      link.send(new FrameWriter().u8(this.op('COMPARE_SET')).bytes(k).bytes(e).bytes(d).finish());
      return new Uint8Array(await this.reply(link, link.read('bytes'), deadline, `compareSet('${key}')`));
    });
  }

  async wait(keys: readonly string[], timeoutMs?: number): Promise<void> {
    const wire = checkKeys(keys).map((k) => this.key(k));
    const ms = checkTimeout(timeoutMs ?? this.timeoutMs);
    return this.call(`wait(${describeKeys(keys)})`, true, ms, (link, deadline) => this.waitOn(link, wire, keys, deadline, ms));
  }

  async check(keys: readonly string[]): Promise<boolean> {
    const wire = checkKeys(keys).map((k) => this.key(k));
    return this.call(`check(${describeKeys(keys)})`, true, undefined, (link, deadline) => this.checkOn(link, wire, deadline));
  }

  async deleteKey(key: string): Promise<boolean> {
    const k = this.key(key);
    return this.call(`deleteKey('${key}')`, false, undefined, async (link, deadline) => {
      link.send(new FrameWriter().u8(this.op('DELETE_KEY')).bytes(k).finish());
      return (await this.reply(link, link.read('i64'), deadline, `deleteKey('${key}')`)) > 0n;
    });
  }

  async numKeys(): Promise<number> {
    return this.call('numKeys()', true, undefined, async (link, deadline) => {
      link.send(new FrameWriter().u8(this.op('GETNUMKEYS')).finish());
      return Number(await this.reply(link, link.read('i64'), deadline, 'numKeys()'));
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.link?.destroy(new StoreError('ECANCELED', `the TCPStore client of ${this.address} was closed`));
    this.link = undefined;
    // The calls still queued end at once (closed, their link destroyed) or at their own deadlines.
    await this.tail;
  }

  private key(key: string): string {
    return this.keyPrefix + checkKey(key);
  }

  private op(name: QueryName): number {
    return opcodeOf(this.dialect, name);
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const task = this.tail.then(fn);
    this.tail = task.catch(() => {});
    return task;
  }

  private call<T>(what: string, retry: boolean, waitMs: number | undefined, fn: (link: Link, deadline: number) => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new StoreError('ECANCELED', `${what}: the TCPStore client of ${this.address} is closed`));
    return this.serial(async () => {
      const deadline = Date.now() + (waitMs ?? this.timeoutMs);
      for (let attempt = 0; ; attempt++) {
        if (this.closed) throw new StoreError('ECANCELED', `${what}: the TCPStore client of ${this.address} is closed`);
        const link = await this.ensureLink(deadline);
        try {
          return await fn(link, deadline);
        } catch (e) {
          const lost = e instanceof StoreError && e.code === 'ENOTCONN';
          if (lost && this.link === link) this.link = undefined;
          if (lost && retry && attempt === 0 && Date.now() < deadline && !this.closed) continue;
          if (lost) throw new StoreError('ENOTCONN', `${what}: ${e.message.replace(/^ENOTCONN: /, '')}`);
          throw e;
        }
      }
    });
  }

  /** Awaits a reply; past the deadline the connection is out of step and is dropped. */
  private async reply<T>(link: Link, pending: Promise<T>, deadline: number, what: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new StoreError('ETIMEDOUT', `${what}: no reply from the TCPStore at ${this.address} within the deadline`)), Math.max(0, deadline - Date.now()));
    });
    try {
      return await Promise.race([pending, timeout]);
    } catch (e) {
      if ((e as StoreError).code === 'ETIMEDOUT') this.dropLink(link, e as Error);
      pending.catch(() => {});
      throw e;
    } finally {
      clearTimeout(timer);
    }
  }

  private async checkOn(link: Link, wire: readonly string[], deadline: number): Promise<boolean> {
    link.send(new FrameWriter().u8(this.op('CHECK')).strings(wire).finish());
    return (await this.reply(link, link.read('u8'), deadline, 'check')) === CHECK_READY;
  }

  private async waitOn(link: Link, wire: readonly string[], keys: readonly string[], deadline: number, ms: number): Promise<void> {
    link.send(new FrameWriter().u8(this.op('WAIT')).strings(wire).finish());
    const first = link.read('u8');
    first.catch(() => {});
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<'expired'>((resolve) => {
      timer = setTimeout(() => resolve('expired'), Math.max(0, deadline - Date.now()));
    });
    const outcome = await Promise.race([first, expired]).finally(() => clearTimeout(timer));
    if (outcome !== 'expired') {
      if (outcome !== WAIT_STOP_WAITING) this.dropLink(link, new StoreError('EIO', `wait: the TCPStore at ${this.address} answered ${outcome}, not STOP_WAITING`));
      return;
    }
    let satisfied = false;
    if (this.dialect === 'v2') {
      // Withdraw the wait; a STOP_WAITING may still be in flight ahead of WAIT_CANCELED.
      link.send(new FrameWriter().u8(this.op('CANCEL_WAIT')).finish());
      const grace = Date.now() + Math.min(5_000, this.timeoutMs);
      let answer = await this.reply(link, first, grace, 'wait (cancel)');
      if (answer === WAIT_STOP_WAITING) {
        satisfied = true;
        answer = await this.reply(link, link.read('u8'), grace, 'wait (cancel)');
      }
      if (answer !== WAIT_CANCELED) this.dropLink(link, new StoreError('EIO', `wait: expected WAIT_CANCELED from the TCPStore at ${this.address}, got ${answer}`));
    } else {
      // torch ≤ 2.0 cannot withdraw a wait: a late STOP_WAITING would put the
      // connection out of step, so it is closed and the next call reconnects.
      this.dropLink(link, new StoreError('ETIMEDOUT', 'wait timed out'));
    }
    if (satisfied) return;
    const missing = await this.missingKeys(wire, keys);
    throw new StoreError('ETIMEDOUT', `wait timed out after ${ms} ms; missing keys: ${describeKeys(missing)} (TCPStore at ${this.address})`, missing);
  }

  /** Best effort, for the error message: which of the keys are still absent. */
  private async missingKeys(wire: readonly string[], keys: readonly string[]): Promise<string[]> {
    try {
      const deadline = Date.now() + Math.min(2_000, this.timeoutMs);
      const link = await this.ensureLink(deadline);
      const missing: string[] = [];
      for (let i = 0; i < wire.length; i++) if (!(await this.checkOn(link, [wire[i] as string], deadline))) missing.push(keys[i] as string);
      return missing;
    } catch {
      return [...keys];
    }
  }

  private dropLink(link: Link, reason: Error): void {
    link.destroy(reason);
    if (this.link === link) this.link = undefined;
  }

  private async ensureLink(deadline: number): Promise<Link> {
    if (this.link?.alive) return this.link;
    this.link = undefined;
    let pause = 25;
    let last = 'no attempt';
    for (;;) {
      if (this.closed) throw new StoreError('ECANCELED', `the TCPStore client of ${this.address} is closed`);
      const left = deadline - Date.now();
      if (left <= 0) break;
      let link: Link;
      try {
        link = await Link.open(this.host, this.port, Math.min(left, 10_000));
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
        last = code;
        if (!RETRYABLE_CONNECT.has(code)) throw new StoreError('ENOTCONN', `cannot connect to the TCPStore at ${this.address}: ${code}`);
        await delay(Math.min(pause, Math.max(1, deadline - Date.now())));
        pause = Math.min(pause * 2, 500);
        continue;
      }
      try {
        if (this.secret !== undefined) await this.authenticate(link, this.secret, deadline);
        await this.handshake(link, deadline);
      } catch (e) {
        link.destroy(e as Error);
        if (e instanceof StoreError && e.code === 'EAGAIN') continue;
        throw e;
      }
      this.link = link;
      return link;
    }
    throw new StoreError('ENOTCONN', `could not connect to the TCPStore at ${this.address} before the deadline (last error: ${last}); is the store's host running and reachable?`);
  }

  /** The AUTH exchange (tcp_store_auth.ts): the client proves the secret first, then checks the server's proof. */
  private async authenticate(link: Link, secret: Buffer, deadline: number): Promise<void> {
    const clientNonce = newNonce();
    const within = Math.min(deadline, Date.now() + 10_000);
    let proof: Buffer;
    let serverNonce: Buffer;
    try {
      link.send(Buffer.concat([Buffer.from([AUTH_OP, AUTH_VERSION]), clientNonce]));
      serverNonce = await this.reply(link, link.read('b32'), within, 'authentication');
      link.send(authTag(secret, 'client', clientNonce, serverNonce));
      proof = await this.reply(link, link.read('b32'), within, 'authentication');
    } catch (e) {
      if (e instanceof StoreError && (e.code === 'ENOTCONN' || e.code === 'ETIMEDOUT')) throw this.notOurs();
      throw e;
    }
    if (!tagMatches(authTag(secret, 'server', clientNonce, serverNonce), proof)) throw this.notOurs();
    // Only our server speaks AUTH, and it speaks v2.
    this.chosen ??= 'v2';
  }

  private notOurs(): StoreError {
    return new StoreError(
      'EACCES',
      `the TCPStore at ${this.address} did not complete the authentication: it is not this job's store (torch's own, or another job's), or it was started with another secret; give every process of the job the same COLLECTIVE_JOB_SECRET or COLLECTIVE_JOB_SECRET_FILE`,
    );
  }

  private async handshake(link: Link, deadline: number): Promise<void> {
    if (this.chosen === undefined) {
      // CHECK exists with the same shape in torch 1.13 and on our server; a
      // torch ≥ 2.1 server drops a connection that does not open with VALIDATE.
      link.send(new FrameWriter().u8(opcodeOf('legacy', 'CHECK')).strings([SERVER_PROBE_KEY]).finish());
      const probeDeadline = Math.min(deadline, Date.now() + 5_000);
      let answer: number;
      try {
        answer = await this.reply(link, link.read('u8'), probeDeadline, 'dialect probe');
      } catch (e) {
        if (e instanceof StoreError && e.code === 'ENOTCONN') {
          this.chosen = 'v2';
          throw new StoreError('EAGAIN', 'reconnect in v2');
        }
        throw new StoreError('EIO', `the service at ${this.address} did not answer a TCPStore query; is it a TCPStore?`);
      }
      if (answer === CHECK_READY) {
        this.chosen = 'v2';
        throw new StoreError('EAGAIN', 'reconnect in v2');
      }
      this.chosen = 'legacy';
      return;
    }
    if (this.chosen === 'v2') {
      const nonce = randomInt(0, 0x7fffffff);
      link.send(Buffer.concat([new FrameWriter().u8(opcodeOf('v2', 'VALIDATE')).u32(VALIDATION_MAGIC).finish(), new FrameWriter().u8(opcodeOf('v2', 'PING')).u32(nonce).finish()]));
      let echo: number;
      try {
        echo = await this.reply(link, link.read('u32'), deadline, 'ping');
      } catch (e) {
        if (!(e instanceof StoreError && e.code === 'ENOTCONN') || this.secret !== undefined) throw e;
        throw new StoreError('ENOTCONN', `the TCPStore at ${this.address} closed the connection as soon as it opened; a store started with a job secret does that to clients without it (set COLLECTIVE_JOB_SECRET or COLLECTIVE_JOB_SECRET_FILE as for the job's other processes)`);
      }
      if (echo !== nonce) throw new StoreError('EIO', `the TCPStore at ${this.address} answered PING with ${echo}, not ${nonce}`);
    }
  }
}
