import type { ErrorCode } from '@collective/transport';

/**
 * The shared block between a device thread and its communication stream:
 * a ring of call entries the device thread fills in issue order, the
 * stream's progress, a status per ring slot and the message of a failed
 * call. Only the device thread writes entries and HEAD; only the stream
 * writes statuses, messages and DONE.
 */
export const SLOTS = 64;

export const enum S {
  /** sequence number of the last entry the device thread published */
  HEAD = 0,
  /** sequence number of the last entry the stream finished */
  DONE = 1,
  /** the stream sleeps on HEAD: a publish must notify */
  STREAM_SLEEPING = 2,
  /** device threads asleep on DONE: a finish must notify */
  WAITERS = 3,
  /** the owner's grant for Device.openStream (0 until the device is open) */
  GRANT = 4,
  /** 1 once the stream's communicator is up */
  READY = 5,
  STOP = 6,
  STOPPED = 7,
  /** the stream thread is gone (died, or failed to start): nothing more will finish */
  DEAD = 8,
  /** 1 once a failure made the stream's communicator unusable; its message is the async error */
  UNUSABLE = 9,
  HEADER = 16,
}

/** Per slot: [sequence number, state] after the header. */
export const enum State {
  OK = 1,
  FAILED = 2,
}
const STATUS_AT = S.HEADER;
const STATUS_WORDS = 2;

/** Entry fields, as float64 so any number the caller passed reaches the stream's checks unchanged. */
export const enum E {
  SEQ = 0,
  OP = 1,
  DTYPE = 2,
  REDOP = 3,
  ROOT = 4,
  SEND_OFF = 5,
  SEND_LEN = 6,
  RECV_OFF = 7,
  RECV_LEN = 8,
  ALGO = 9,
  PROTO = 10,
  TIMEOUT = 11,
  PEER = 12,
  WORDS = 16,
}

/** What an entry asks the stream to do; collectives use their descriptor kind codes. */
export const enum Op {
  ALL_REDUCE = 1,
  ALL_GATHER = 2,
  REDUCE_SCATTER = 3,
  BROADCAST = 4,
  REDUCE = 5,
  ALL_TO_ALL = 6,
  BARRIER = 7,
  /** one send or receive of a group; the group runs at GROUP_END */
  GROUP_SEND = 20,
  GROUP_RECV = 21,
  GROUP_END = 22,
  /** let go of registrations of buffers the device freed (between World tasks) */
  SWEEP = 30,
}

/** Bytes of the message area of one slot (code index, length, UTF-8). */
const MSG_BYTES = 512;
/** The async error's message, written once. */
const ASYNC_MSG_BYTES = 1024;

export const ERROR_CODES: readonly ErrorCode[] = ['EIO', 'EINVAL', 'ETIMEDOUT', 'ECANCELED', 'EACCES', 'ENOTCONN', 'ENOMEM', 'ESTALE', 'ENOENT', 'EBUSY', 'EPERM', 'EAGAIN'];

const ENTRIES_AT = (STATUS_AT + SLOTS * STATUS_WORDS) * 4;
const MSGS_AT = ENTRIES_AT + SLOTS * E.WORDS * 8;
const ASYNC_AT = MSGS_AT + SLOTS * MSG_BYTES;
export const BLOCK_BYTES = ASYNC_AT + ASYNC_MSG_BYTES;

/** Typed views of one block, made once per thread. */
export class StreamBlock {
  readonly words: Int32Array;
  readonly entries: Float64Array;
  private readonly bytes: Uint8Array;

  constructor(readonly sab: SharedArrayBuffer) {
    if (!(sab instanceof SharedArrayBuffer) || sab.byteLength !== BLOCK_BYTES) throw new TypeError('not a stream block');
    this.words = new Int32Array(sab);
    this.entries = new Float64Array(sab, ENTRIES_AT, SLOTS * E.WORDS);
    this.bytes = new Uint8Array(sab);
  }

  static create(): StreamBlock {
    return new StreamBlock(new SharedArrayBuffer(BLOCK_BYTES));
  }

  /** Float64 index of field 0 of the entry for `seq`. */
  entryAt(seq: number): number {
    return (seq % SLOTS) * E.WORDS;
  }

  statusSeq(seq: number): number {
    return Atomics.load(this.words, STATUS_AT + (seq % SLOTS) * STATUS_WORDS);
  }

  statusState(seq: number): number {
    return this.words[STATUS_AT + (seq % SLOTS) * STATUS_WORDS + 1]!;
  }

  /** Stream side: the state of `seq`, its message first for a failure. Published by the DONE store after it. */
  setStatus(seq: number, state: State, code?: ErrorCode, message?: string): void {
    if (state === State.FAILED) this.writeMessage(MSGS_AT + (seq % SLOTS) * MSG_BYTES, MSG_BYTES, code ?? 'EIO', message ?? '');
    const at = STATUS_AT + (seq % SLOTS) * STATUS_WORDS;
    this.words[at + 1] = state;
    Atomics.store(this.words, at, seq);
  }

  /** The message of failed slot `seq` (read it while its status still names `seq`). */
  message(seq: number): { code: ErrorCode; message: string } {
    return this.readMessage(MSGS_AT + (seq % SLOTS) * MSG_BYTES);
  }

  setAsyncError(code: ErrorCode, message: string): void {
    if (this.words[S.UNUSABLE] !== 0) return;
    this.writeMessage(ASYNC_AT, ASYNC_MSG_BYTES, code, message);
    Atomics.store(this.words, S.UNUSABLE, 1);
  }

  asyncError(): { code: ErrorCode; message: string } | undefined {
    return Atomics.load(this.words, S.UNUSABLE) === 0 ? undefined : this.readMessage(ASYNC_AT);
  }

  private writeMessage(at: number, room: number, code: ErrorCode, message: string): void {
    const dv = new DataView(this.sab, at, 8);
    const { written } = new TextEncoder().encodeInto(message, this.bytes.subarray(at + 8, at + room));
    dv.setInt32(0, Math.max(0, ERROR_CODES.indexOf(code)), true);
    dv.setInt32(4, written ?? 0, true);
  }

  private readMessage(at: number): { code: ErrorCode; message: string } {
    const dv = new DataView(this.sab, at, 8);
    const len = dv.getInt32(4, true);
    // TextDecoder refuses views of shared memory: copy the bytes out first.
    const message = new TextDecoder().decode(this.bytes.slice(at + 8, at + 8 + len));
    return { code: ERROR_CODES[dv.getInt32(0, true)] ?? 'EIO', message };
  }
}
