/**
 * The tcp provider's wire format, in the spirit of Gloo's pair preamble:
 * every message is a fixed 64-byte little-endian header, then `length`
 * payload bytes. A socket starts with a 128-byte hello and its answer.
 */

export const HEADER_BYTES = 64;
export const MAGIC = 0x50544c43; // "CLTP"
export const VERSION = 1;

export const enum Op {
  /** one chunk of an RMA write; FIRST carries the whole length, LAST asks for the acknowledgement */
  WRITE = 1,
  READ_REQUEST = 2,
  /** one chunk of the bytes a read asked for */
  READ_RESPONSE = 3,
  SEND = 4,
  /** the target's verdict on a write, send or refused read */
  ACK = 5,
}

export const enum Flag {
  FIRST = 1,
  LAST = 2,
  /** a write with remote CQ data (fi_writedata) */
  DATA = 4,
}

export interface Frame {
  op: Op;
  flags: number;
  /** position of this message in its direction of the connection: the receiver applies messages in this order */
  seq: number;
  srcSlot: number;
  srcGen: number;
  dstSlot: number;
  dstGen: number;
  /** the target MR's key (up to 2^53) */
  key: number;
  /** remote offset of this chunk inside the target region (write, read request) */
  offset: number;
  /** payload bytes following the header */
  length: number;
  data: number;
  tag: number;
  /** the initiator proxy's operation id, echoed by acknowledgements and read responses */
  opId: number;
  /** ACK: the Reason; otherwise 0 */
  status: number;
  /** WRITE FIRST and READ_REQUEST: the operation's whole length; ACK: the reason's argument */
  total: number;
}

const HI = 2 ** 32;

export function encodeHeader(f: Frame, out: Buffer = Buffer.allocUnsafe(HEADER_BYTES)): Buffer {
  out.writeUInt32LE(((f.flags & 0xff) << 8) | (f.op & 0xff), 0);
  out.writeUInt32LE(f.seq >>> 0, 4);
  out.writeInt32LE(f.srcSlot | 0, 8);
  out.writeInt32LE(f.srcGen | 0, 12);
  out.writeInt32LE(f.dstSlot | 0, 16);
  out.writeInt32LE(f.dstGen | 0, 20);
  out.writeUInt32LE(f.key % HI >>> 0, 24);
  out.writeUInt32LE(Math.floor(f.key / HI) >>> 0, 28);
  out.writeUInt32LE(f.offset % HI >>> 0, 32);
  out.writeUInt32LE(Math.floor(f.offset / HI) >>> 0, 36);
  out.writeUInt32LE(f.length >>> 0, 40);
  out.writeUInt32LE(f.data >>> 0, 44);
  out.writeUInt32LE(f.tag >>> 0, 48);
  out.writeUInt32LE(f.opId >>> 0, 52);
  out.writeUInt32LE(f.status >>> 0, 56);
  out.writeUInt32LE(f.total >>> 0, 60);
  return out;
}

export function decodeHeader(b: Buffer): Frame {
  const w0 = b.readUInt32LE(0);
  return {
    op: (w0 & 0xff) as Op,
    flags: (w0 >>> 8) & 0xff,
    seq: b.readUInt32LE(4),
    srcSlot: b.readInt32LE(8),
    srcGen: b.readInt32LE(12),
    dstSlot: b.readInt32LE(16),
    dstGen: b.readInt32LE(20),
    key: b.readUInt32LE(24) + b.readUInt32LE(28) * HI,
    offset: b.readUInt32LE(32) + b.readUInt32LE(36) * HI,
    length: b.readUInt32LE(40),
    data: b.readUInt32LE(44),
    tag: b.readUInt32LE(48),
    opId: b.readUInt32LE(52),
    status: b.readUInt32LE(56),
    total: b.readUInt32LE(60),
  };
}

export const HELLO_BYTES = 128;

export const enum HelloKind {
  /** one of the connection's data sockets */
  DATA = 1,
  /** "connect to me": sent by the side that must not connect, so a one-sided peer still gets a connection */
  KNOCK = 2,
  /** the acceptor's answer */
  ANSWER = 3,
}

export interface Hello {
  kind: HelloKind;
  /** DATA: which of the connection's sockets this is, and how many there are */
  index: number;
  sockets: number;
  /** ANSWER: 0 when accepted, 1 when the expected process is not this one */
  status: number;
  /** the sender's proxy: listen address and identity */
  host: string;
  port: number;
  process: string;
  /** the identity the sender expects to reach (refused when it is not the acceptor's) */
  expect: string;
}

function putString(b: Buffer, at: number, max: number, s: string): void {
  const n = b.write(s, at + 1, max, 'utf8');
  b.writeUInt8(n, at);
}

function getString(b: Buffer, at: number): string {
  return b.toString('utf8', at + 1, at + 1 + b.readUInt8(at));
}

export function encodeHello(h: Hello): Buffer {
  const b = Buffer.alloc(HELLO_BYTES);
  b.writeUInt32LE(MAGIC, 0);
  b.writeUInt16LE(VERSION, 4);
  b.writeUInt8(h.kind, 6);
  b.writeUInt8(h.status, 7);
  b.writeUInt16LE(h.index, 8);
  b.writeUInt16LE(h.sockets, 10);
  b.writeUInt16LE(h.port, 12);
  putString(b, 14, 45, h.host);
  putString(b, 60, 33, h.process);
  putString(b, 94, 33, h.expect);
  return b;
}

/** Decodes a hello, or says what is wrong with it. */
export function decodeHello(b: Buffer): Hello | string {
  if (b.readUInt32LE(0) !== MAGIC) return 'not a collective tcp peer (bad magic)';
  if (b.readUInt16LE(4) !== VERSION) return `wire version ${b.readUInt16LE(4)}, this is ${VERSION}`;
  return {
    kind: b.readUInt8(6) as HelloKind,
    status: b.readUInt8(7),
    index: b.readUInt16LE(8),
    sockets: b.readUInt16LE(10),
    port: b.readUInt16LE(12),
    host: getString(b, 14),
    process: getString(b, 60),
    expect: getString(b, 94),
  };
}
