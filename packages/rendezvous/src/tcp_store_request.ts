import { AUTH_OP, NONCE_BYTES, TAG_BYTES } from './tcp_store_auth.js';
import { ProtocolError, type QueryName, type StoreDialect, VALIDATION_MAGIC, queryOf } from './tcp_store_codec.js';
import type { ByteQueue } from './tcp_store_input.js';

/** One parsed query; keys are latin1 strings so any byte sequence round-trips. */
export type StoreRequest =
  | { q: 'VALIDATE'; magic: number }
  | { q: 'SET' | 'APPEND'; key: string; value: Buffer }
  | { q: 'COMPARE_SET'; key: string; expected: Buffer; desired: Buffer }
  | { q: 'GET' | 'DELETE_KEY' | 'WATCH_KEY'; key: string }
  | { q: 'ADD'; key: string; delta: bigint }
  | { q: 'CHECK' | 'WAIT' | 'MULTI_GET'; keys: string[] }
  | { q: 'MULTI_SET'; entries: [string, Buffer][] }
  | { q: 'GETNUMKEYS' | 'CANCEL_WAIT' }
  | { q: 'PING'; nonce: number };

/** What a connection's opening bytes were. */
export type Opening =
  | { kind: 'auth'; version: number; nonce: Buffer }
  | { kind: 'plain'; dialect: StoreDialect };

export interface RequestLimits {
  maxKeyBytes: number;
  maxValueBytes: number;
  maxKeysPerQuery: number;
}

/**
 * A parse in progress. It yields the number of bytes it waits for, counted
 * from the queue's read position, and is resumed when more have come: its
 * place in the frame (and what it parsed so far) lives in the generator, so
 * no byte is looked at twice however the frame is cut into pieces.
 */
export type Parse<T> = Generator<number, T, void>;

function* need(q: ByteQueue, n: number): Parse<void> {
  while (q.length < n) yield n;
}

/** a u64 length or count, refused above `limit` before anything is buffered for it */
function* length(q: ByteQueue, limit: number, what: string): Parse<number> {
  yield* need(q, 8);
  const v = q.u64();
  if (v > BigInt(limit)) throw new ProtocolError(`${what} of ${v} exceeds the limit of ${limit}`);
  return Number(v);
}

function* bytes(q: ByteQueue, limit: number, what: string): Parse<Buffer> {
  const n = yield* length(q, limit, what);
  yield* need(q, n);
  return q.take(n);
}

function* binaryString(q: ByteQueue, limit: number, what: string): Parse<string> {
  const n = yield* length(q, limit, what);
  yield* need(q, n);
  return q.latin1(n);
}

/**
 * The first bytes of a connection: our AUTH hello, torch ≥ 2.1's VALIDATE +
 * magic, or (anything else) the legacy numbering of torch ≤ 2.0. Only the
 * hello and the magic are consumed; a legacy query is left for the request
 * parser. `authOnly` refuses to look further than the first byte.
 */
export function* openingParser(q: ByteQueue, authOnly: boolean): Parse<Opening | undefined> {
  yield* need(q, 1);
  const first = q.peekU8();
  if (first === AUTH_OP) {
    yield* need(q, 2 + NONCE_BYTES);
    q.u8();
    const version = q.u8();
    return { kind: 'auth', version, nonce: q.take(NONCE_BYTES) };
  }
  if (authOnly) return undefined;
  return yield* dialectParser(q);
}

/** VALIDATE + magic means v2; a legacy SET starts with 0 too, but its next 8 bytes are a key length. */
export function* dialectParser(q: ByteQueue): Parse<Opening> {
  yield* need(q, 1);
  if (q.peekU8() === 0) {
    yield* need(q, 5);
    if (q.peek(5).readUInt32LE(1) === VALIDATION_MAGIC) {
      q.take(5);
      return { kind: 'plain', dialect: 'v2' };
    }
  }
  return { kind: 'plain', dialect: 'legacy' };
}

/** the client's proof after the server's nonce */
export function* proofParser(q: ByteQueue): Parse<Buffer> {
  yield* need(q, TAG_BYTES);
  return q.take(TAG_BYTES);
}

/** One query; throws ProtocolError when it can never be valid. */
export function* requestParser(q: ByteQueue, dialect: StoreDialect, limits: RequestLimits): Parse<StoreRequest> {
  yield* need(q, 1);
  const code = q.u8();
  const name: QueryName | undefined = queryOf(dialect, code);
  const key = () => binaryString(q, limits.maxKeyBytes, 'key length');
  const value = () => bytes(q, limits.maxValueBytes, 'value length');
  const keys = function* (): Parse<string[]> {
    const n = yield* length(q, limits.maxKeysPerQuery, 'key count');
    const out: string[] = [];
    for (let i = 0; i < n; i++) out.push(yield* key());
    return out;
  };
  switch (name) {
    case 'VALIDATE':
      yield* need(q, 4);
      return { q: name, magic: q.u32() };
    case 'SET':
    case 'APPEND':
      return { q: name, key: yield* key(), value: yield* value() };
    case 'COMPARE_SET':
      return { q: name, key: yield* key(), expected: yield* value(), desired: yield* value() };
    case 'GET':
    case 'DELETE_KEY':
    case 'WATCH_KEY':
      return { q: name, key: yield* key() };
    case 'ADD': {
      const k = yield* key();
      yield* need(q, 8);
      return { q: name, key: k, delta: q.i64() };
    }
    case 'CHECK':
    case 'WAIT':
    case 'MULTI_GET':
      return { q: name, keys: yield* keys() };
    case 'MULTI_SET': {
      const n = yield* length(q, limits.maxKeysPerQuery, 'key count');
      const entries: [string, Buffer][] = [];
      for (let i = 0; i < n; i++) entries.push([yield* key(), yield* value()]);
      return { q: name, entries };
    }
    case 'GETNUMKEYS':
    case 'CANCEL_WAIT':
      return { q: name };
    case 'PING':
      yield* need(q, 4);
      return { q: name, nonce: q.u32() };
    default:
      if (code === AUTH_OP) throw new ProtocolError('AUTH after the opening of the connection');
      throw new ProtocolError(`unknown query type ${code} in the ${dialect} dialect`);
  }
}
