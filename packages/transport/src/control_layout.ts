/**
 * The pool's control block: every piece of memory-model state that more
 * than one thread must agree on lives here, as Int32 records in one
 * SharedArrayBuffer. Thread-local objects (Device, DmaBuf, Attachment) are
 * thin views that carry a slot index and the generation they were issued at.
 */

export const MAGIC = 0x434f4c4c; // "COLL"

export const enum Header {
  MAGIC = 0,
  /** thread id + 1 of the pool lock's holder, 0 when free */
  LOCK = 1,
  POOL_ID = 2,
  PAGE_COUNT = 3,
  FENCE_CURSOR = 4,
  TOKEN_COUNTER = 5,
  CAP_DEVICES = 6,
  CAP_BUFFERS = 7,
  CAP_EXPORTS = 8,
  CAP_ATTACHMENTS = 9,
  CAP_FENCES = 10,
  CAP_FENCES_PER_BUFFER = 11,
  CAP_MRS = 12,
  CAP_ENDPOINTS = 13,
  /** threads asleep waiting for the lock: release wakes one only when > 0 */
  LOCK_WAITERS = 14,
  /** times the lock was taken back from a thread that died holding it */
  LOCK_RECOVERIES = 15,
  /** bumped whenever an owner frees a buffer or an exporter lets go, so caches know to look */
  FREE_GEN = 16,
  /** entries written to the dead-thread ring so far */
  DEAD_COUNT = 17,
  /** 1 once the job's secret is in JOB_SECRET (the socket provider authenticates every connection with it) */
  JOB_SECRET_SET = 18,
  /** 32 bytes: the key of the job's challenge-response (never leaves the process) */
  JOB_SECRET = 20,
  JOB_SECRET_WORDS = 8,
  /** 128 random bits drawn at creation: who this pool (this process's memory) is, for "same process?" across processes */
  POOL_IDENTITY = 28,
  POOL_IDENTITY_WORDS = 4,
  /** ring of thread id + 1 of threads known to have died */
  DEAD_RING = 32,
  DEAD_RING_SIZE = 64,
  SIZE = 96,
}

export const enum DeviceField {
  STATE = 0,
  OWNER = 1,
  REFS = 2,
  GEN = 3,
  /** the owner's grant to its communication stream (0: none) */
  STREAM_GRANT = 4,
  SIZE = 5,
}
export const enum DeviceState {
  FREE = 0,
  OPEN = 1,
  /** closed by its owner but still held by live exports */
  HELD = 2,
}

export const enum BufferField {
  STATE = 0,
  GEN = 1,
  DEVICE = 2,
  FIRST_PAGE = 3,
  PAGES = 4,
  /** live exports of this buffer */
  EXPORTS = 5,
  /** pinned dynamic attachments plus mapped static attachments */
  PINS = 6,
  /** bumped on every move; mappings issued under an older epoch are stale */
  EPOCH = 7,
  CPU_VIEWS = 8,
  OWNER_FREED = 9,
  /** non-empty reservation entries: lets hot paths skip the scan when 0 */
  RESV_ENTRIES = 10,
  /** 1 once any export of the buffer was revoked: the memory is cut off from every importer */
  REVOKED = 11,
  /** reservation entries held long-term by reusable fences (a subset of RESV_ENTRIES) */
  RESV_RESERVED = 12,
  SIZE = 13,
}

export const enum ExportField {
  STATE = 0,
  GEN = 1,
  BUFFER = 2,
  OFFSET_PAGES = 3,
  PAGES = 4,
  REFS = 5,
  MAPS = 6,
  /** 1 once the exporter released its reference: importers caching this export should let go */
  EXPORTER_RELEASED = 7,
  SIZE = 8,
}
export const enum ExportState {
  FREE = 0,
  LIVE = 1,
  REVOKED = 2,
}

export const enum AttachField {
  STATE = 0,
  GEN = 1,
  EXPORT = 2,
  DYNAMIC = 3,
  PINNED = 4,
  MAPS = 5,
  INVALIDATED = 6,
  SIZE = 7,
}

export const enum FenceField {
  /** (generation << 2) | FenceState, so a waiter sleeps on one word */
  WORD = 0,
  ERRNO = 1,
  /** 1 while a reusable fence owns the slot: Fence.create never hands it out */
  OWNED = 2,
  /** threads asleep on WORD: signalling wakes them only when > 0 */
  WAITERS = 3,
  SIZE = 4,
}
export const enum FenceState {
  FREE = 0,
  PENDING = 1,
  SIGNALED = 2,
  FAILED = 3,
}

export const enum ResvField {
  /** fence slot + 1; 0 marks an empty entry */
  FENCE = 0,
  /** the fence word while pending: any other value means it has completed */
  PENDING_WORD = 1,
  USAGE = 2,
  /** 1 while a reusable fence holds the entry: nobody else reuses or clears it */
  RESERVED = 3,
  SIZE = 4,
}

/** A registered memory region, readable by every initiator thread. */
export const enum MrField {
  STATE = 0,
  GEN = 1,
  OFFSET = 2,
  LENGTH = 3,
  ACCESS = 4,
  EXPORT = 5,
  /** RMA copies in progress; close waits for them */
  INFLIGHT = 6,
  /** keys are scoped to the domain that registered them */
  DOMAIN = 7,
  /** the random part of the region's key, low and high words (mr_key.ts) */
  TAG_LO = 8,
  TAG_HI = 9,
  /** 1: peers reach only the windows below (mr_window.ts) */
  WINDOWED = 10,
  /** odd while the owner changes the windows; every change moves it on, so a transfer checked earlier sees it */
  WIN_SEQ = 11,
  /** the remoteRead and remoteWrite windows: offset in the region (-1: closed) and length */
  READ_OFF = 12,
  READ_LEN = 13,
  WRITE_OFF = 14,
  WRITE_LEN = 15,
  SIZE = 16,
}
export const enum MrState {
  FREE = 0,
  LIVE = 1,
  CLOSED = 2,
}

/** An shm endpoint: where its mailbox lives and the words peers bump. */
export const enum EndpointField {
  STATE = 0,
  GEN = 1,
  MAILBOX_PAGE = 2,
  MAILBOX_PAGES = 3,
  /** bumped (and notified) on every delivery, so a receiver can sleep on it */
  DOORBELL = 4,
  SEQ = 5,
  REMOTE_WRITES = 6,
  REMOTE_READS = 7,
  DOMAIN = 8,
  /** senders inside the mailbox; close drains them before freeing its pages */
  INFLIGHT = 9,
  SIZE = 10,
}

export interface Capacities {
  devices: number;
  buffers: number;
  exports: number;
  attachments: number;
  fences: number;
  fencesPerBuffer: number;
  mrs: number;
  endpoints: number;
}

export const DEFAULT_CAPACITIES: Capacities = {
  devices: 64,
  buffers: 4096,
  exports: 4096,
  attachments: 8192,
  fences: 8192,
  fencesPerBuffer: 16,
  mrs: 4096,
  endpoints: 256,
};

export interface Layout {
  caps: Capacities;
  pages: number;
  pageTable: number;
  devices: number;
  buffers: number;
  exports: number;
  attachments: number;
  fences: number;
  resv: number;
  mrs: number;
  endpoints: number;
  totalWords: number;
}

export function computeLayout(pageCount: number, caps: Capacities): Layout {
  let at = Header.SIZE;
  const take = (words: number): number => {
    const start = at;
    at += words;
    return start;
  };
  const pageTable = take(pageCount);
  const devices = take(caps.devices * DeviceField.SIZE);
  const buffers = take(caps.buffers * BufferField.SIZE);
  const exports = take(caps.exports * ExportField.SIZE);
  const attachments = take(caps.attachments * AttachField.SIZE);
  // Fences are written by their owners on every call: the table starts on a 64-byte line.
  at = Math.ceil(at / 16) * 16;
  const fences = take(caps.fences * FenceField.SIZE);
  const resv = take(caps.buffers * caps.fencesPerBuffer * ResvField.SIZE);
  const mrs = take(caps.mrs * MrField.SIZE);
  const endpoints = take(caps.endpoints * EndpointField.SIZE);
  return { caps, pages: pageCount, pageTable, devices, buffers, exports, attachments, fences, resv, mrs, endpoints, totalWords: at };
}
