import { readFileSync } from 'node:fs';
import { StoreError } from './store.js';
import { checkSecret } from './tcp_store_auth.js';

export interface TCPStoreServerOptions {
  /** address to listen on; default: every interface */
  host?: string;
  /** port to listen on; 0 (the default) picks a free one */
  port?: number;
  /** longest key accepted; default 64 KiB */
  maxKeyBytes?: number;
  /** longest value accepted, APPEND growth included; default 64 MiB */
  maxValueBytes?: number;
  /** most keys in one CHECK, WAIT, MULTI_GET or MULTI_SET; default 65536 */
  maxKeysPerQuery?: number;
  /** most bytes one query (or one MULTI_GET reply) may span; default 2 × maxValueBytes + 1 MiB */
  maxFrameBytes?: number;
  /** most keys stored; default 1 Mi (1,048,576) */
  maxKeys?: number;
  /** most bytes of keys and values stored; default 1 GiB */
  maxStoredBytes?: number;
  /**
   * most bytes of queries received and not yet complete, over all connections;
   * past it, connections other than the one whose frame began first stop being
   * read until the total falls; default 4 × maxFrameBytes
   */
  maxInputBytes?: number;
  /** most open connections; default 4096, or half the process's open-file limit when that is lower */
  maxConnections?: number;
  /** most open connections from one remote address; default 1024 (at most maxConnections) */
  maxConnectionsPerAddress?: number;
  /** most WAITs pending over all connections; default 65536 */
  maxWaiters?: number;
  /** most WAITs pending on one connection (torch's clients and ours have one at a time); default 16 */
  maxWaitersPerConnection?: number;
  /** most bytes of keys that pending WAITs hold, over all connections; default 64 MiB */
  maxWaitBytes?: number;
  /**
   * a connection that holds an incomplete query this long, or whose replies
   * stay unread this long, is dropped; with requireAuth, also the time a new
   * connection has to authenticate; default 30 s
   */
  frameTimeoutMs?: number;
  /**
   * a connection that completes no query this long after it opened is dropped;
   * once it has, it may stay idle (or wait) for ever; default 10 min
   */
  idleTimeoutMs?: number;
  /** enables the AUTH exchange (see tcp_store_auth.ts); at least 16 bytes, e.g. jobSecretFromEnv() */
  secret?: Uint8Array;
  /** refuse every connection that does not open with a successful AUTH (needs `secret`); default false */
  requireAuth?: boolean;
  /**
   * called with the reason when a connection is dropped for breaking the
   * protocol or a limit, and once per remote address for refusals and
   * turned-away connections; default: a line on stderr at COLLECTIVE_DEBUG=INFO
   */
  onDrop?: (reason: string) => void;
}

/** The options with their defaults filled in and checked. */
export interface ServerSettings {
  maxKeyBytes: number;
  maxValueBytes: number;
  maxKeysPerQuery: number;
  maxFrameBytes: number;
  maxKeys: number;
  maxStoredBytes: number;
  maxInputBytes: number;
  maxConnections: number;
  maxConnectionsPerAddress: number;
  maxWaiters: number;
  maxWaitersPerConnection: number;
  maxWaitBytes: number;
  frameTimeoutMs: number;
  idleTimeoutMs: number;
  secret: Buffer | undefined;
  requireAuth: boolean;
}

const MiB = 1 << 20;

export function serverSettings(options: TCPStoreServerOptions): ServerSettings {
  const int = (name: keyof TCPStoreServerOptions, fallback: number): number => {
    const v = options[name] ?? fallback;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0) throw new StoreError('EINVAL', `options.${name} must be a positive integer (got ${String(v)})`);
    return v;
  };
  const maxValueBytes = int('maxValueBytes', 64 * MiB);
  const maxFrameBytes = int('maxFrameBytes', 2 * maxValueBytes + MiB);
  const maxInputBytes = int('maxInputBytes', 4 * maxFrameBytes);
  // One frame must always be able to complete, whatever the others hold.
  if (maxInputBytes < maxFrameBytes) throw new StoreError('EINVAL', `options.maxInputBytes (${maxInputBytes}) must be at least options.maxFrameBytes (${maxFrameBytes})`);
  const maxConnections = int('maxConnections', defaultMaxConnections());
  const secret = options.secret === undefined ? undefined : checkSecret(options.secret, 'options.secret');
  const requireAuth = options.requireAuth ?? false;
  if (typeof requireAuth !== 'boolean') throw new StoreError('EINVAL', `options.requireAuth must be a boolean (got ${typeof requireAuth})`);
  if (requireAuth && secret === undefined) throw new StoreError('EINVAL', 'options.requireAuth needs options.secret (the job secret every client must prove it knows)');
  if (options.onDrop !== undefined && typeof options.onDrop !== 'function') throw new StoreError('EINVAL', 'options.onDrop must be a function');
  return {
    maxKeyBytes: int('maxKeyBytes', 64 << 10),
    maxValueBytes,
    maxKeysPerQuery: int('maxKeysPerQuery', 65536),
    maxFrameBytes,
    maxKeys: int('maxKeys', 1 << 20),
    maxStoredBytes: int('maxStoredBytes', 1024 * MiB),
    maxInputBytes,
    maxConnections,
    maxConnectionsPerAddress: int('maxConnectionsPerAddress', Math.min(1024, maxConnections)),
    maxWaiters: int('maxWaiters', 65536),
    maxWaitersPerConnection: int('maxWaitersPerConnection', 16),
    maxWaitBytes: int('maxWaitBytes', 64 * MiB),
    frameTimeoutMs: int('frameTimeoutMs', 30_000),
    idleTimeoutMs: int('idleTimeoutMs', 600_000),
    secret,
    requireAuth,
  };
}

/**
 * Half the open-file limit, so connections to the store cannot take every
 * descriptor of the process that hosts it (its rank's own sockets need some).
 */
function defaultMaxConnections(): number {
  try {
    const line = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    const soft = line?.[1];
    if (soft !== undefined && soft !== 'unlimited') return Math.max(16, Math.min(4096, Math.floor(Number(soft) / 2)));
  } catch {
    // not Linux: the fixed default
  }
  return 4096;
}
