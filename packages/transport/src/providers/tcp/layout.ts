/**
 * Shared-memory layout of the tcp provider. Everything a device thread and
 * the proxy thread of one process exchange lives in pool pages, so every
 * thread that has the pool reaches it without a postMessage: a proxy block
 * (one per running proxy) and one block per tcp endpoint, each found
 * through a record of the pool's endpoint table.
 */
import { PAGE_SIZE } from '../../constants.js';

/**
 * Endpoint-table record states owned by tcp. They differ from shm's (1 live,
 * 2 closing), so an shm sender never takes a tcp block for a mailbox.
 */
export const TCP_ENDPOINT = 0x7401;
export const TCP_CLOSING = 0x7402;
export const TCP_PROXY = 0x7403;

/** Words of the proxy block (Int32 index from the block's start). */
export const enum P {
  PHASE = 0,
  /** open tcp endpoints of the process: the proxy stops when it falls to 0 */
  USERS = 1,
  /** bumped (and notified while IDLE) by every post, endpoint open/close and backlog release */
  DOORBELL = 2,
  /** 1 while the proxy may be asleep on DOORBELL: posters notify only then */
  IDLE = 3,
  /** bumped when a tcp endpoint opens or closes, so the proxy rescans the table */
  EP_EPOCH = 4,
  /** bumped every HEARTBEAT_MS by the proxy: a device thread tells a dead proxy from a slow peer */
  HEARTBEAT = 5,
  PORT = 6,
  /** owner word (thread id + 1) of the thread that started the proxy; the proxy dies with it */
  STARTER = 7,
  SOCKETS = 8,
  HOST_LEN = 9,
  PROCESS_LEN = 10,
  ERROR_LEN = 11,
  /** the record slot and generation of this proxy (for its own cleanup) */
  RECORD_SLOT = 12,
  RECORD_GEN = 13,
}
export const P_HOST_BYTE = 256;
export const P_PROCESS_BYTE = 320;
export const P_ERROR_BYTE = 512;
export const P_ERROR_MAX = PAGE_SIZE - P_ERROR_BYTE;
export const PROXY_PAGES = 1;

export const enum Phase {
  STARTING = 1,
  RUNNING = 2,
  FAILED = 3,
  STOPPING = 4,
}

export const HEARTBEAT_MS = 250;
/** A proxy whose heartbeat has not moved for this long is taken for dead. */
export const PROXY_DEAD_MS = 5000;

/** Words of an endpoint block's header. Head/tail words count entries (or bytes) forever; positions are taken modulo the size. */
export const enum E {
  SQ_HEAD = 0,
  SQ_TAIL = 1,
  CQ_HEAD = 2,
  CQ_TAIL = 3,
  IN_HEAD = 4,
  IN_TAIL = 5,
  TX_HEAD = 6,
  TX_TAIL = 7,
  RX_HEAD = 8,
  RX_TAIL = 9,
  /** 1 while the endpoint's thread may sleep on its doorbell: the proxy notifies only then */
  WAITING = 10,
  /** 1 while the proxy holds incoming work that did not fit: the endpoint rings the proxy after consuming */
  BACKLOG = 11,
}
const HEADER_BYTES = 256;

/** Submission ring: operations the endpoint's thread posts. */
export const SQ_ENTRIES = 256;
export const enum D {
  OP = 0,
  TOKEN = 1,
  FLAGS = 2,
  LKEY_LO = 3,
  LKEY_HI = 4,
  LOFF = 5,
  LEN = 6,
  RSLOT = 7,
  RGEN = 8,
  RKEY_LO = 9,
  RKEY_HI = 10,
  ROFF_LO = 11,
  ROFF_HI = 12,
  DATA = 13,
  TAG = 14,
  TX_POS = 15,
  TX_END = 16,
  PEER_LEN = 17,
  PEER = 18,
  WORDS = 40,
}
export const PEER_MAX = (D.WORDS - D.PEER) * 4;
export const enum SqOp {
  WRITE = 1,
  READ = 2,
  SEND = 3,
}
export const FLAG_DATA = 1;

/**
 * Completion ring: outcomes of posted operations, pushed by the proxy. An
 * endpoint never has more than CQ_ENTRIES operations posted and not yet
 * polled, so the proxy never finds it full.
 */
export const CQ_ENTRIES = SQ_ENTRIES;
export const enum C {
  TOKEN = 0,
  REASON = 1,
  ARG0 = 2,
  ARG1 = 3,
  DETAIL_LEN = 4,
  DETAIL = 5,
  WORDS = 16,
}
export const DETAIL_MAX = (C.WORDS - C.DETAIL) * 4;

/** Incoming ring: remote-write completions and tagged messages, pushed by the proxy. */
export const IN_ENTRIES = 256;
export const enum I {
  KIND = 0,
  SRC_SLOT = 1,
  SRC_GEN = 2,
  TAG = 3,
  LEN = 4,
  DATA = 5,
  RX_POS = 6,
  RX_END = 7,
  PROCESS_LEN = 8,
  PROCESS = 9,
  WORDS = 24,
}
export const PROCESS_MAX = (I.WORDS - I.PROCESS) * 4;
export const enum InKind {
  TAGGED = 1,
  REMOTE_WRITE = 2,
}

/** Byte rings for tagged payloads: out (device → proxy) and in (proxy → device). */
export const TX_BYTES = 64 * 1024;
export const RX_BYTES = 64 * 1024;
/** Largest tagged message: a quarter of a byte ring, so a few are always in flight. */
export const MAX_TAGGED = 16 * 1024;

export const SQ_BYTE = HEADER_BYTES;
export const CQ_BYTE = SQ_BYTE + SQ_ENTRIES * D.WORDS * 4;
export const IN_BYTE = CQ_BYTE + CQ_ENTRIES * C.WORDS * 4;
export const TX_BYTE = IN_BYTE + IN_ENTRIES * I.WORDS * 4;
export const RX_BYTE = TX_BYTE + TX_BYTES;
export const ENDPOINT_PAGES = Math.ceil((RX_BYTE + RX_BYTES) / PAGE_SIZE);

/**
 * Where a message of `length` bytes goes in a byte ring whose producer is
 * at `tail` and consumer at `head` (uint32 counters that wrap; `size` is a
 * power of two, so positions stay consistent across the wrap). A message
 * never wraps: one that would is placed at the ring's start, skipping the
 * end. Returns the position and the new tail, or undefined when there is
 * no room yet.
 */
export function ringPlace(head: number, tail: number, length: number, size: number): { pos: number; end: number } | undefined {
  let pos = (tail >>> 0) % size;
  let end = (tail >>> 0) + length;
  if (pos + length > size) {
    end += size - pos;
    pos = 0;
  }
  return ((end - head) >>> 0) <= size ? { pos, end: end >>> 0 } : undefined;
}

/** Entries between a ring's consumer and producer counters (uint32, wrapping). */
export function ringUsed(head: number, tail: number): number {
  return (tail - head) >>> 0;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Writes `text` (ASCII/UTF-8, cut to `max` bytes) at `byte` of `u8`; returns its length. */
export function putText(u8: Uint8Array, byte: number, max: number, text: string): number {
  const { written } = encoder.encodeInto(text, u8.subarray(byte, byte + max));
  return written ?? 0;
}

export function getText(u8: Uint8Array, byte: number, length: number): string {
  // Copied first: the Encoding standard does not take views of shared memory.
  return decoder.decode(u8.slice(byte, byte + length));
}
