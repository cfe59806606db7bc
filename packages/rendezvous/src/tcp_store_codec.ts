// The wire format of PyTorch's c10d TCPStore: a 1-byte query type, then
// arguments; integers little-endian; strings and byte vectors as a u64 length
// and the bytes; key lists as a u64 count and the strings. research.md §1.2.

export type StoreDialect = 'legacy' | 'v2';

export type QueryName =
  | 'VALIDATE'
  | 'SET'
  | 'COMPARE_SET'
  | 'GET'
  | 'ADD'
  | 'CHECK'
  | 'WAIT'
  | 'GETNUMKEYS'
  | 'WATCH_KEY'
  | 'DELETE_KEY'
  | 'APPEND'
  | 'MULTI_GET'
  | 'MULTI_SET'
  | 'CANCEL_WAIT'
  | 'PING';

/**
 * torch before pytorch/pytorch#107607 (Debian's 1.13 among them) numbers the
 * queries from SET = 0; 1.13 stops at DELETE_KEY = 8, torch 2.0 adds 9..12.
 */
const LEGACY: readonly QueryName[] = ['SET', 'COMPARE_SET', 'GET', 'ADD', 'CHECK', 'WAIT', 'GETNUMKEYS', 'WATCH_KEY', 'DELETE_KEY', 'APPEND', 'MULTI_GET', 'MULTI_SET', 'CANCEL_WAIT'];
/** torch 2.1 and later open every connection with VALIDATE and the magic number. */
const V2: readonly QueryName[] = ['VALIDATE', 'SET', 'COMPARE_SET', 'GET', 'ADD', 'CHECK', 'WAIT', 'GETNUMKEYS', 'DELETE_KEY', 'APPEND', 'MULTI_GET', 'MULTI_SET', 'CANCEL_WAIT', 'PING'];

export const VALIDATION_MAGIC = 0x3c85f7ce;

/**
 * A CHECK of this one key (never stored) answers READY on our server and
 * NOT_READY on torch's, so our client can tell the two apart over the legacy
 * dialect without sending torch 1.13 anything it does not understand.
 */
export const SERVER_PROBE_KEY = '\u0000collective-store/v2-capable';

export function opcodeOf(dialect: StoreDialect, name: QueryName): number {
  const code = (dialect === 'legacy' ? LEGACY : V2).indexOf(name);
  if (code < 0) throw new Error(`the ${dialect} TCPStore dialect has no ${name} query`);
  return code;
}

export function queryOf(dialect: StoreDialect, code: number): QueryName | undefined {
  return (dialect === 'legacy' ? LEGACY : V2)[code];
}

export const CHECK_READY = 0;
export const CHECK_NOT_READY = 1;
export const WAIT_STOP_WAITING = 0;
export const WAIT_CANCELED = 1;

/** Builds one request or reply. */
export class FrameWriter {
  private readonly parts: Buffer[] = [];

  u8(v: number): this {
    this.parts.push(Buffer.from([v & 0xff]));
    return this;
  }

  u32(v: number): this {
    const b = Buffer.allocUnsafe(4);
    b.writeUInt32LE(v >>> 0);
    this.parts.push(b);
    return this;
  }

  u64(v: number | bigint): this {
    const b = Buffer.allocUnsafe(8);
    b.writeBigUInt64LE(BigInt(v));
    this.parts.push(b);
    return this;
  }

  i64(v: number | bigint): this {
    const b = Buffer.allocUnsafe(8);
    b.writeBigInt64LE(BigInt(v));
    this.parts.push(b);
    return this;
  }

  bytes(v: Uint8Array | string): this {
    const body = typeof v === 'string' ? Buffer.from(v, 'utf8') : Buffer.from(v.buffer, v.byteOffset, v.byteLength);
    this.u64(body.length);
    this.parts.push(body);
    return this;
  }

  strings(list: readonly string[]): this {
    this.u64(list.length);
    for (const s of list) this.bytes(s);
    return this;
  }

  finish(): Buffer {
    return Buffer.concat(this.parts);
  }
}

/** Thrown when a frame breaks a limit or cannot be valid. */
export class ProtocolError extends Error {}
