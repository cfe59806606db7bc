/**
 * The socket provider's wire format, in the spirit of Gloo's pair preamble:
 * a socket joins two endpoints and starts with a 256-byte hello and its
 * answer; then every message is a fixed 64-byte little-endian header and
 * `length` payload bytes. Headers are written into and read from reused
 * buffers: nothing is allocated per message.
 */

export const HEADER_BYTES = 64;
export const MAGIC = 0x50544c43; // "CLTP"
/** 3: a refusal's acknowledgement says REFUSED and nothing else */
export const VERSION = 3;

export const enum Op {
  /** an RMA write of `length` bytes at `offset` of the region `key` */
  WRITE = 1,
  /** asks for `total` bytes at `offset` of the region `key` */
  READ_REQUEST = 2,
  /** the bytes a read asked for; `status` says whether they are valid */
  READ_RESPONSE = 3,
  /** a tagged message */
  SEND = 4,
  /** the target's refusal of the operation `opId` (status REFUSED, nothing else), or only the cumulative acknowledgement every header carries */
  ACK = 5,
}

/** a write with remote CQ data (fi_writedata) */
export const FLAG_DATA = 1;
/** the initiator waits for this operation: acknowledge it at the end of the round, not on the next message */
export const FLAG_PROMPT = 2;

/**
 * One header. `ack` is cumulative: every operation of the receiver's with
 * an id up to it (on this socket) was applied, so a busy pair needs no
 * acknowledgement messages of its own.
 */
export interface Header {
  op: Op;
  flags: number;
  ack: number;
  key: number;
  offset: number;
  length: number;
  data: number;
  tag: number;
  opId: number;
  status: number;
  total: number;
}

const HI = 2 ** 32;

/** Writes `h` into `b` at `at` (64 bytes). */
export function putHeader(b: Buffer, at: number, h: Header): void {
  b.writeUInt32LE(((h.flags & 0xff) << 8) | (h.op & 0xff), at);
  b.writeUInt32LE(h.ack >>> 0, at + 4);
  b.writeUInt32LE(h.key % HI >>> 0, at + 8);
  b.writeUInt32LE(Math.floor(h.key / HI) >>> 0, at + 12);
  b.writeUInt32LE(h.offset % HI >>> 0, at + 16);
  b.writeUInt32LE(Math.floor(h.offset / HI) >>> 0, at + 20);
  b.writeUInt32LE(h.length >>> 0, at + 24);
  b.writeUInt32LE(h.data >>> 0, at + 28);
  b.writeUInt32LE(h.tag >>> 0, at + 32);
  b.writeUInt32LE(h.opId >>> 0, at + 36);
  b.writeUInt32LE(h.status >>> 0, at + 40);
  b.writeUInt32LE(h.total >>> 0, at + 44);
  b.fill(0, at + 48, at + HEADER_BYTES);
}

/** The ack word of a header already written, set when the message starts to leave. */
export function putAck(b: Buffer, at: number, ack: number): void {
  b.writeUInt32LE(ack >>> 0, at + 4);
}

export function getHeader(b: Buffer, at: number, out: Header): Header {
  const w0 = b.readUInt32LE(at);
  out.op = (w0 & 0xff) as Op;
  out.flags = (w0 >>> 8) & 0xff;
  out.ack = b.readUInt32LE(at + 4);
  out.key = b.readUInt32LE(at + 8) + b.readUInt32LE(at + 12) * HI;
  out.offset = b.readUInt32LE(at + 16) + b.readUInt32LE(at + 20) * HI;
  out.length = b.readUInt32LE(at + 24);
  out.data = b.readUInt32LE(at + 28);
  out.tag = b.readUInt32LE(at + 32);
  out.opId = b.readUInt32LE(at + 36);
  out.status = b.readUInt32LE(at + 40);
  out.total = b.readUInt32LE(at + 44);
  return out;
}

export const emptyHeader = (): Header => ({ op: Op.ACK, flags: 0, ack: 0, key: 0, offset: 0, length: 0, data: 0, tag: 0, opId: 0, status: 0, total: 0 });

export const HELLO_BYTES = 256;

export const enum HelloKind {
  /** this socket joins the sender's endpoint (src) to the receiver's endpoint (dst) */
  DATA = 1,
  /** "dial me": sent by the endpoint that must not dial, so the other side connects back */
  KNOCK = 2,
  /** the acceptor's answer */
  ANSWER = 3,
}

export const enum HelloStatus {
  OK = 0,
  /** the expected process is not this one (it restarted on the same address?) */
  WRONG_PROCESS = 1,
  /** the target endpoint is closed or unknown */
  NO_ENDPOINT = 2,
}

/** Where an endpoint can be reached, as dialers need it. */
export interface Reach {
  host: string;
  port: number;
  /** the Unix socket of its process ('@name': Linux abstract namespace), or '' */
  unix: string;
  /** same value on both ends = same host and network namespace */
  hostId: string;
  process: string;
  slot: number;
  gen: number;
}

export interface Hello {
  kind: HelloKind;
  status: HelloStatus;
  /** the sender */
  from: Reach;
  /** the endpoint the sender wants to reach, and its process's identity */
  toSlot: number;
  toGen: number;
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
  b.writeInt32LE(h.from.slot | 0, 8);
  b.writeInt32LE(h.from.gen | 0, 12);
  b.writeInt32LE(h.toSlot | 0, 16);
  b.writeInt32LE(h.toGen | 0, 20);
  b.writeUInt16LE(h.from.port, 24);
  putString(b, 26, 45, h.from.host);
  putString(b, 72, 33, h.from.process);
  putString(b, 106, 33, h.expect);
  putString(b, 140, 63, h.from.unix);
  putString(b, 204, 50, h.from.hostId);
  return b;
}

/** Decodes a hello, or says what is wrong with it. */
export function decodeHello(b: Buffer): Hello | string {
  if (b.readUInt32LE(0) !== MAGIC) return 'not a collective socket peer (bad magic)';
  if (b.readUInt16LE(4) !== VERSION) return `wire version ${b.readUInt16LE(4)}, this is ${VERSION}`;
  return {
    kind: b.readUInt8(6) as HelloKind,
    status: b.readUInt8(7) as HelloStatus,
    from: {
      slot: b.readInt32LE(8),
      gen: b.readInt32LE(12),
      port: b.readUInt16LE(24),
      host: getString(b, 26),
      process: getString(b, 72),
      unix: getString(b, 140),
      hostId: getString(b, 204),
    },
    toSlot: b.readInt32LE(16),
    toGen: b.readInt32LE(20),
    expect: getString(b, 106),
  };
}

/** The text form of a Reach kept in a listener record (a dial request). */
export function reachText(r: Reach): string {
  return [r.host, r.port, r.unix, r.hostId, r.process, r.slot, r.gen].join('|');
}

export function parseReach(text: string): Reach | undefined {
  const f = text.split('|');
  if (f.length !== 7) return undefined;
  const [host, port, unix, hostId, process, slot, gen] = f as [string, string, string, string, string, string, string];
  const r = { host, port: Number(port), unix, hostId, process, slot: Number(slot), gen: Number(gen) };
  return Number.isInteger(r.port) && Number.isInteger(r.slot) && Number.isInteger(r.gen) ? r : undefined;
}
