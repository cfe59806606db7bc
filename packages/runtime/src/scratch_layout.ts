import { PAGE_SIZE } from '@collective/transport';

/** Channels of receiver-owned FIFOs, by the role of the sender; each (receiver, channel) has one sender. */
export const enum Ch {
  /** from the left neighbour of a ring */
  RING = 0,
  /** from the first and second child of a tree */
  UP0 = 1,
  UP1 = 2,
  /** from the parent of a tree */
  DOWN = 3,
  COUNT = 4,
}

/** Slots per FIFO: one being filled while the other is read. */
export const FIFO_SLOTS = 2;
/** Bytes of one small slot (staged or ll inputs), per sender and parity. */
export const SMALL_BYTES = 4096;
/**
 * A small slot starts with its flag word; the data follows at this offset
 * (8, so 64-bit elements stay aligned), and its first 56 bytes share the
 * flag's cache line.
 */
export const SMALL_DATA = 8;
/** The most a small slot carries. */
export const SMALL_MAX = SMALL_BYTES - SMALL_DATA;
const DESC_BYTES = 128;
/** A p2p message (a descriptor) and, in its last word, the status the receiver returns. */
const P2P_BYTES = 128;
export const P2P_STATUS_WORD = 31;
/** Bytes a net connector fetches per remote source for one reduction step. */
export const GET_BYTES = 32 * 1024;
const KERNEL_TABLE_BYTES = 256;

const pageUp = (n: number) => Math.ceil(n / PAGE_SIZE) * PAGE_SIZE;

/**
 * The exported scratch of a rank: what peers may write (and read). Small
 * slots: a rank's own slot [rank] holds its staged input for shm peers to
 * read; slot [q] receives peer q's input over net. Descriptor and p2p
 * inboxes receive net peers' messages. FIFOs receive pipelined data.
 */
export class ScratchLayout {
  readonly small: number;
  readonly desc: number;
  readonly p2p: number;
  readonly fifo: number;
  readonly bytes: number;

  constructor(
    readonly nranks: number,
    readonly slotBytes: number,
  ) {
    this.small = 0;
    this.desc = this.small + nranks * 2 * SMALL_BYTES;
    this.p2p = this.desc + nranks * 2 * DESC_BYTES;
    this.fifo = pageUp(this.p2p + nranks * P2P_BYTES);
    this.bytes = pageUp(this.fifo + Ch.COUNT * FIFO_SLOTS * slotBytes);
  }

  smallSlot(sender: number, parity: number): number {
    return this.small + (sender * 2 + parity) * SMALL_BYTES;
  }

  descSlot(sender: number, parity: number): number {
    return this.desc + (sender * 2 + parity) * DESC_BYTES;
  }

  /** The p2p message sender `q` wrote for this rank, and (last word) the status `q` returned for this rank's send. */
  p2pSlot(sender: number): number {
    return this.p2p + sender * P2P_BYTES;
  }

  fifoSlot(ch: number, slot: number): number {
    return this.fifo + (ch * FIFO_SLOTS + slot) * this.slotBytes;
  }
}

/**
 * A rank's private scratch: never exported, so no peer can write it. It
 * holds the kernels' source table and, for net connectors, the staging a
 * rank sends from and fetches into.
 */
export class PrivateLayout {
  readonly kernelTable = 0;
  readonly descOut = KERNEL_TABLE_BYTES;
  readonly p2pOut: number;
  readonly statusOut: number;
  readonly fifo: number;
  readonly get: number;
  /** net: this rank's staged small input, per call parity, copied here so a tcp write never reads a user buffer after the call */
  readonly stageOut: number;
  readonly bytes: number;

  constructor(
    readonly nranks: number,
    readonly slotBytes: number,
    net: boolean,
  ) {
    // Two descriptors, by call parity: over tcp a write leaves later, from
    // this memory, so the next call must not overwrite the one in flight.
    this.p2pOut = this.descOut + 2 * DESC_BYTES;
    this.statusOut = this.p2pOut + P2P_BYTES;
    this.fifo = pageUp(this.statusOut + 64);
    this.get = this.fifo + (net ? Ch.COUNT * FIFO_SLOTS * slotBytes : 0);
    this.stageOut = this.get + (net ? nranks * GET_BYTES : 0);
    this.bytes = net ? pageUp(this.stageOut + 2 * SMALL_BYTES) : PAGE_SIZE;
  }

  /**
   * Where the staged input of a call with this parity is sent from. It is
   * rewritten two calls later, after every peer announced the call between,
   * which each does only once it has the bytes: the write has left.
   */
  stageSlot(parity: number): number {
    return this.stageOut + parity * SMALL_BYTES;
  }

  fifoSlot(ch: number, slot: number): number {
    return this.fifo + (ch * FIFO_SLOTS + slot) * this.slotBytes;
  }

  /** Where the descriptor of call `seq` is staged for net peers. */
  descOutFor(seq: number): number {
    return this.descOut + (seq & 1) * DESC_BYTES;
  }

  getSlot(peer: number): number {
    return this.get + peer * GET_BYTES;
  }
}
