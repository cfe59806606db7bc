import { Cursor, ProtocolError, type QueryName, type StoreDialect, VALIDATION_MAGIC, queryOf } from './tcp_store_codec.js';

/** One parsed query; keys are latin1 strings so any byte sequence round-trips. */
export type StoreRequest =
  | { q: 'VALIDATE'; magic: number }
  | { q: 'SET' | 'APPEND'; key: string; value: Buffer }
  | { q: 'COMPARE_SET'; key: string; expected: Buffer; desired: Buffer }
  | { q: 'GET' | 'DELETE_KEY'; key: string }
  | { q: 'ADD'; key: string; delta: bigint }
  | { q: 'CHECK' | 'WAIT' | 'MULTI_GET'; keys: string[] }
  | { q: 'MULTI_SET'; entries: [string, Buffer][] }
  | { q: 'GETNUMKEYS' | 'CANCEL_WAIT' }
  | { q: 'PING'; nonce: number };

export interface RequestLimits {
  maxKeyBytes: number;
  maxValueBytes: number;
  maxKeysPerQuery: number;
}

/**
 * Parses one query from `c`; throws Incomplete when the frame is not all
 * there yet and ProtocolError when it can never be valid.
 */
export function parseRequest(c: Cursor, dialect: StoreDialect, limits: RequestLimits): StoreRequest {
  const code = c.u8();
  const q: QueryName | undefined = queryOf(dialect, code);
  const key = () => c.binaryString(limits.maxKeyBytes, 'key length');
  const value = () => c.bytes(limits.maxValueBytes, 'value length');
  const keys = () => {
    const n = c.length(limits.maxKeysPerQuery, 'key count');
    const out: string[] = [];
    for (let i = 0; i < n; i++) out.push(key());
    return out;
  };
  switch (q) {
    case 'VALIDATE':
      return { q, magic: c.u32() };
    case 'SET':
    case 'APPEND':
      return { q, key: key(), value: value() };
    case 'COMPARE_SET':
      return { q, key: key(), expected: value(), desired: value() };
    case 'GET':
    case 'DELETE_KEY':
      return { q, key: key() };
    case 'ADD':
      return { q, key: key(), delta: c.i64() };
    case 'CHECK':
    case 'WAIT':
    case 'MULTI_GET':
      return { q, keys: keys() };
    case 'MULTI_SET': {
      const n = c.length(limits.maxKeysPerQuery, 'key count');
      const entries: [string, Buffer][] = [];
      for (let i = 0; i < n; i++) entries.push([key(), value()]);
      return { q, entries };
    }
    case 'GETNUMKEYS':
    case 'CANCEL_WAIT':
      return { q };
    case 'PING':
      return { q, nonce: c.u32() };
    case 'WATCH_KEY':
      throw new ProtocolError('WATCH_KEY (the torch < 2.1 callback client) is not supported by this server');
    default:
      throw new ProtocolError(`unknown query type ${code} in the ${dialect} dialect`);
  }
}

export function isMagic(buf: Buffer, offset: number): boolean {
  return buf.length >= offset + 4 && buf.readUInt32LE(offset) === VALIDATION_MAGIC;
}
