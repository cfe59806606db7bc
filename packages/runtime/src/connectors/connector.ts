import type { MemoryRegion } from '@collective/transport';
import type { WaitContext } from '../comm_base/wait_context.js';

/** Which of a peer's registered user buffers of the current call. */
export const enum Buf {
  SEND = 0,
  RECV = 1,
}

/** Lines a rank signals a peer on; each carries a counter that only grows. */
export const enum Line {
  SEQ = 0,
  ARRIVE = 1,
  STEP = 2,
  P2P_POST = 3,
  P2P_DONE = 4,
  ABORT = 5,
  /** ll over net: the sequence number of the call whose flag and data the peer wrote into this rank's small slot */
  LL = 6,
  /** TAIL + channel: slots delivered into the receiver's FIFO */
  TAIL = 8,
  /** HEAD + channel: slots the receiver has released */
  HEAD = 12,
  COUNT = 16,
}

/** A local registered region and an offset in it: what RMA sends from or lands in. */
export interface LocalRegion {
  /** pool byte offset of the region's first byte */
  base: number;
  /** the region's key for net transfers (its MemoryRegion), or undefined on shm-only communicators */
  mr: MemoryRegion | undefined;
}

/**
 * How a rank reaches one peer: chosen once at setup by the providers'
 * canConnect. `shm` loads and stores through exporter-issued mappings of
 * the peer's registered memory; `net` moves bytes with RMA writes and
 * reads into the peer's memory regions and signals with remote CQ data.
 * Algorithms never see either: they go through the primitives.
 */
export interface Connector {
  readonly type: 'shm' | 'net';
  readonly peer: number;

  /** Makes this rank's descriptor for `seq` visible to the peer (shm peers read the shared block). */
  sendDesc(seq: number, ctx: WaitContext): void;
  /** Waits for the peer's descriptor of `seq`; returns the words and the index they start at. */
  recvDesc(seq: number, ctx: WaitContext): [Int32Array, number];

  /** Raises the peer's view of this rank's `line` to `value` (shm peers read the shared block). */
  signal(line: Line, value: number, ctx: WaitContext): void;
  /** Waits until the peer's `line` reaches `value`. */
  waitLine(line: Line, value: number, ctx: WaitContext, what: string): void;

  /** Waits for room in the peer's FIFO `ch`; returns the pool offset to fill. */
  outSlot(ch: number, ctx: WaitContext): number;
  /** Hands the filled slot (`bytes` long) to the peer. */
  deliver(ch: number, bytes: number, ctx: WaitContext): void;
  /** Waits for the next slot the peer delivered into this rank's FIFO `ch`; returns its pool offset. */
  inSlot(ch: number, ctx: WaitContext): number;
  /** Gives the slot back to the peer. */
  release(ch: number, ctx: WaitContext): void;

  /** Pool offset, readable here, of the small input the peer staged for this call. */
  staged(parity: number): number;
  /** Net: copies this rank's staged input to the peer (shm peers read it in place). */
  pushStaged(parity: number, src: LocalRegion, srcOff: number, bytes: number, ctx: WaitContext): void;

  /**
   * ll: hands this rank's flag and `bytes` of input to the peer in small
   * slot `parity` (net: one write carrying both; shm peers read this rank's
   * own slot, written once by the primitives).
   */
  llPush(parity: number, flag: number, seq: number, src: LocalRegion, srcOff: number, bytes: number, ctx: WaitContext): void;
  /** ll: waits for the peer's flag of call `seq` in slot `parity`; returns the pool offset of its data. */
  llAwait(parity: number, flag: number, seq: number, ctx: WaitContext): number;

  /** Binds the peer's descriptor of the current call: its registered send and recv buffers. */
  bindCall(words: Int32Array, at: number): void;
  /** A readable pool offset of bytes [off, off + bytes) of the peer's buffer: in place (shm) or fetched into local staging (net). */
  source(buf: Buf, off: number, bytes: number, ctx: WaitContext): number;
  /** Copies bytes of the peer's buffer into a local region. */
  getInto(buf: Buf, off: number, dst: LocalRegion, dstOff: number, bytes: number, ctx: WaitContext): void;
  /** Copies bytes of a local region into the peer's buffer. */
  putFrom(buf: Buf, off: number, src: LocalRegion, srcOff: number, bytes: number, ctx: WaitContext): void;

  /** Point to point: announces this rank's send of `seq` to the peer (a descriptor naming its send buffer). */
  p2pPost(seq: number, desc: Int32Array, ctx: WaitContext): void;
  /** Waits for the peer's send `seq` to this rank; returns its descriptor's words and start. */
  p2pAwait(seq: number, ctx: WaitContext): [Int32Array, number];
  /** Tells the peer this rank finished its send `seq` (status 0) or refused it (1). */
  p2pDone(seq: number, status: number, ctx: WaitContext): void;
  /** Waits until the peer finished this rank's send `seq`; returns the status. */
  p2pAwaitDone(seq: number, ctx: WaitContext): number;

  /** Best effort: tells the peer the communicator is aborted (net; shm peers see the shared block). */
  abort(): void;
  close(): void;
}
