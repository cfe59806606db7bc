/**
 * A communicator's shared block: Int32 words in host memory of the pool,
 * reached by every rank of the pool. It holds what ranks of one process
 * share — who joined, the abort state and its reason, and the words shm
 * connectors signal through. Ranks in other processes never see it; they
 * are reached through net connectors. Per-rank records are 512 bytes apart
 * and split into cache lines by writer, so a rank spinning on a peer's
 * word does not share a line with its own stores.
 */
export const COMM_MAGIC = 0x434f4d4d; // "COMM"
export const MAX_RANKS = 64;

export const enum Hdr {
  MAGIC = 0,
  NRANKS = 1,
  TOKEN = 2,
  /** host bytes of this block, so the last rank out can free it */
  BYTES = 3,
  LEFT = 4,
  /** rank + 1 of the first rank to abort: it alone writes the reason */
  ABORT_CLAIM = 5,
  /** rank + 1 of the aborting rank, stored once the reason is written; 0 while healthy */
  ABORTED = 6,
  /** error code of the abort, as an index into ABORT_CODES */
  ABORT_CODE = 7,
  /** waiters asleep on any word of this block: stores notify only when > 0 */
  SLEEPERS = 8,
  /** bumped when a rank drops a registration, so peers sweep their imports */
  REG_GEN = 9,
  REASON_BYTES = 10,
  /** ranks that join this block: all of them in one process, this process's in a job of several */
  MEMBERS = 11,
  /** full-synchronisation arrivals when ranks outnumber cores (its own line) */
  ARRIVALS = 16,
  /** the abort reason, UTF-8 */
  REASON = 32,
  REASON_WORDS = 128,
  SIZE = 160,
}

export const RANK_STRIDE = 128;

/** Per-rank record, in words from rankBase(rank). */
export const enum R {
  // line 0: the rank's progress, written by it and polled by peers
  SEQ = 0,
  ARRIVE = 1,
  STEP = 2,
  // the rank's call descriptors, two copies by sequence parity
  DESC = 16,
  // FIFO words of the rank's inbound channels: TAIL written by each sender, HEAD by the rank
  TAIL = 64,
  HEAD = 80,
  // written once at setup
  DEVICE = 96,
  THREAD = 97,
  READY = 98,
  JOINED = 99,
  SCRATCH_SLOT = 100,
  SCRATCH_GEN = 101,
  SCRATCH_SIZE = 102,
  POOL = 103,
  EP_SLOT = 104,
  EP_GEN = 105,
  SCRATCH_KEY_LO = 106,
  SCRATCH_KEY_HI = 107,
  EP_PROVIDER = 108,
  /**
   * Non-zero while the rank is inside a call and may touch peers' memory.
   * Written twice per call and read only by a rank draining after an
   * abort: a line of its own, so the stores do not disturb peers spinning
   * on line 0.
   */
  INFLIGHT = 112,
}

/** Point-to-point cells, one per ordered (sender, receiver) pair of shm peers. */
export const P2P_WORDS = 32;
export const enum P {
  /** written by the sender: the sequence number of its latest send */
  POSTED = 0,
  /** written by the receiver: the sequence number it finished */
  DONE = 1,
  /** 0 when the receiver accepted, 1 when count or dtype did not match */
  STATUS = 2,
  /** the sender's descriptor (kind, count, dtype and its send registration) */
  DESC = 8,
}

export function rankBase(rank: number): number {
  return Hdr.SIZE + rank * RANK_STRIDE;
}

export function p2pBase(nranks: number, from: number, to: number): number {
  return Hdr.SIZE + nranks * RANK_STRIDE + (from * nranks + to) * P2P_WORDS;
}

export function blockWords(nranks: number): number {
  return Hdr.SIZE + nranks * RANK_STRIDE + nranks * nranks * P2P_WORDS;
}
