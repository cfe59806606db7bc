/**
 * Shared-memory layout of the socket provider. Device threads drive their
 * own sockets; what they exchange with the process's listener thread (the
 * helper that listens, accepts, dials and hands descriptors over) lives in
 * one block of pool pages, found through a record of the pool's endpoint
 * table, so every thread of the process reaches it without a postMessage.
 */
import { PAGE_SIZE } from '../../constants.js';

/**
 * Endpoint-table record states owned by the socket provider. They differ
 * from shm's (1 live, 2 closing), so an shm sender never takes them for a
 * mailbox.
 */
export const TCP_ENDPOINT = 0x7401;
export const TCP_CLOSING = 0x7402;
export const TCP_LISTENER = 0x7403;

/** Words of the listener block's header (Int32 index from the block's start). */
export const enum L {
  PHASE = 0,
  /** open socket endpoints of the process: the listener stops when it falls to 0 */
  USERS = 1,
  /** bumped (and notified while IDLE) when a record asks for work */
  DOORBELL = 2,
  /** 1 while the listener may be asleep on DOORBELL */
  IDLE = 3,
  /** bumped when a record becomes READY for an endpoint that did not ask for it (accepted, or dialled for a knock) */
  ADOPT_EPOCH = 4,
  /** bumped every HEARTBEAT_MS by the listener */
  HEARTBEAT = 5,
  PORT = 6,
  /** owner word (thread id + 1) of the thread that started the listener; it dies with that thread */
  STARTER = 7,
  HOST_LEN = 8,
  PROCESS_LEN = 9,
  ERROR_LEN = 10,
  UNIX_LEN = 11,
  HOSTID_LEN = 12,
  RECORD_SLOT = 13,
  RECORD_GEN = 14,
  /** connections refused for not proving they hold the job secret */
  REFUSALS = 15,
}
export const L_HOST_BYTE = 256;
export const L_PROCESS_BYTE = 320;
export const L_UNIX_BYTE = 384;
export const L_HOSTID_BYTE = 448;
export const L_ERROR_BYTE = 512;
export const L_ERROR_MAX = PAGE_SIZE - L_ERROR_BYTE;
export const TEXT_FIELD_MAX = 64;

export const enum Phase {
  STARTING = 1,
  RUNNING = 2,
  FAILED = 3,
  STOPPING = 4,
}

export const HEARTBEAT_MS = 250;
/** A listener whose heartbeat has not moved for this long is taken for dead. */
export const LISTENER_DEAD_MS = 5000;

/**
 * Socket records: one per (local endpoint, peer endpoint) connection, from
 * the request to the release of its descriptor. The listener owns the
 * `net.Socket` (so the descriptor stays open) until the endpoint releases
 * the record; the endpoint's thread alone reads and writes the descriptor.
 */
export const RECORDS = 512;
export const RECORD_BYTES = 256;
export const enum R {
  STATE = 0,
  EP_SLOT = 1,
  EP_GEN = 2,
  FD = 3,
  /** READY: the peer endpoint */
  PEER_SLOT = 4,
  PEER_GEN = 5,
  /** FAILED: the Reason and its arguments */
  REASON = 6,
  ARG0 = 7,
  ARG1 = 8,
  /** MERGED: the record that serves this request */
  MERGED = 9,
  /** 1: a Unix socket, 0: tcp */
  UNIX = 10,
  TEXT_LEN = 11,
}
/** REQUEST: the peer's Reach text; READY: the peer's process identity; FAILED: the detail. */
export const R_TEXT_BYTE = 64;
export const R_TEXT_MAX = RECORD_BYTES - R_TEXT_BYTE;

export const enum RecState {
  FREE = 0,
  /** being filled by the thread that claimed it */
  CLAIMED = 1,
  /** an endpoint asks for a connection to the peer in its text */
  REQUEST = 2,
  /** the listener dials, or knocked and waits for the peer to dial back */
  WORKING = 3,
  /** FD is connected and answered; the endpoint drives it */
  READY = 4,
  FAILED = 5,
  /** the endpoint is done with it: the listener closes the socket and frees the record */
  RELEASED = 6,
  /** another record (MERGED word) already joins the same two endpoints */
  MERGED = 7,
}

export const RECORDS_BYTE = PAGE_SIZE;
export const LISTENER_PAGES = 1 + (RECORDS * RECORD_BYTES) / PAGE_SIZE;

/** Int32 index of a record's field inside the block. */
export const recWord = (rec: number, field: R): number => (RECORDS_BYTE + rec * RECORD_BYTES) / 4 + field;
export const recTextByte = (rec: number): number => RECORDS_BYTE + rec * RECORD_BYTES + R_TEXT_BYTE;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Writes `text` (cut to `max` bytes) at `byte` of `u8`; returns its length. */
export function putText(u8: Uint8Array, byte: number, max: number, text: string): number {
  const { written } = encoder.encodeInto(text, u8.subarray(byte, byte + max));
  return written ?? 0;
}

export function getText(u8: Uint8Array, byte: number, length: number): string {
  // Copied first: the Encoding standard does not take views of shared memory.
  return decoder.decode(u8.slice(byte, byte + length));
}

/** Largest tagged message. */
export const MAX_TAGGED = 16 * 1024;
