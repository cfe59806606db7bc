/**
 * A communicator's control block: Int32 words in host memory of the pool,
 * so every rank reaches it through the pool alone. Per-rank records are
 * 128 bytes apart so ranks spinning on each other's words do not share
 * cache lines with their own stores.
 */
export const COMM_MAGIC = 0x434f4d4d; // "COMM"
export const MAX_RANKS = 64;

export const enum Hdr {
  MAGIC = 0,
  NRANKS = 1,
  JOINED = 2,
  /** rank + 1 of the rank that aborted, or 0 */
  ABORTED = 3,
  /** waiters asleep on any word of this block: stores notify only when > 0 */
  SLEEPERS = 4,
  /** ranks that finished init (scratch exported) */
  READY = 5,
  LEFT = 6,
  TOKEN = 7,
  /** host bytes of this block, so the last rank out can free it */
  BYTES = 8,
  /**
   * Rank arrivals at full synchronisations, when there are more ranks than
   * cores: one counter lets every waiter sleep once and be woken once.
   */
  ARRIVALS = 16,
  SIZE = 32,
}

export const RANK_STRIDE = 64;

export const enum R {
  /** arrivals at full barriers */
  ARRIVE = 0,
  /** steps of multi-step algorithms */
  STEP = 16,
  /** the collective sequence number this rank has published */
  SEQ = 32,
  /** the call descriptor, two copies by sequence parity */
  DESC = 33,
  DESC_WORDS = 9,
  SCRATCH_SLOT = 52,
  SCRATCH_GEN = 53,
  SCRATCH_SIZE = 54,
  SPLIT_COLOR = 55,
  SPLIT_KEY = 56,
  SPLIT_CHILD = 57,
  DEVICE = 59,
}

/** Descriptor fields, relative to DESC + parity * DESC_WORDS. */
export const enum D {
  KIND = 0,
  COUNT = 1,
  DTYPE = 2,
  OP = 3,
  ROOT = 4,
  SEND = 5,
  RECV = 6,
  ALGO = 7,
  /** the peer of send/recv; -1 for collectives */
  PEER = 8,
}

/** Point-to-point cells, one per ordered (sender, receiver) pair. */
export const P2P_WORDS = 8;
export const enum P {
  POSTED = 0,
  DONE = 1,
  OFFSET = 2,
  COUNT = 3,
  DTYPE = 4,
  /** 0 when the receiver accepted, 1 when count or dtype did not match */
  STATUS = 5,
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
