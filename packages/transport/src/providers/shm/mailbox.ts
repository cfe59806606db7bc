import { PAGE_SIZE } from '../../constants.js';
import { EndpointField } from '../../control_layout.js';
import { tables } from '../../pool_tables.js';
import type { Pool } from '../../pool.js';

/**
 * An endpoint's receive side: fixed slots in pool memory that senders in
 * any thread claim with a CAS, fill and publish with a sequence number.
 * The receiver takes them in sequence order; a full mailbox is EAGAIN.
 */
export const SLOT_BYTES = 4096;
export const SLOTS = 64;
export const MAILBOX_PAGES = (SLOTS * SLOT_BYTES) / PAGE_SIZE;
const HEADER_BYTES = 32;
export const MAX_PAYLOAD = SLOT_BYTES - HEADER_BYTES;

export const enum SlotField {
  STATE = 0,
  KIND = 1,
  SEQ = 2,
  SOURCE = 3,
  TAG = 4,
  LENGTH = 5,
  DATA = 6,
}
export const enum SlotState {
  FREE = 0,
  FILLING = 1,
  FULL = 2,
}
export const enum SlotKind {
  TAGGED = 1,
  REMOTE_WRITE = 2,
}

export class Mailbox {
  readonly words: Int32Array;
  readonly base: number;

  constructor(
    readonly pool: Pool,
    readonly endpointSlot: number,
  ) {
    const page = tables(pool).endpoints.get(endpointSlot, EndpointField.MAILBOX_PAGE);
    this.base = page * PAGE_SIZE;
    this.words = new Int32Array(pool.memory.buffer, this.base, (SLOTS * SLOT_BYTES) / 4);
  }

  private w(slot: number, field: SlotField): number {
    return (slot * SLOT_BYTES) / 4 + field;
  }

  /** Claims a free slot, or returns -1 when the receiver is SLOTS messages behind. */
  claim(): number {
    for (let s = 0; s < SLOTS; s++) {
      if (Atomics.compareExchange(this.words, this.w(s, SlotField.STATE), SlotState.FREE, SlotState.FILLING) === SlotState.FREE) return s;
    }
    return -1;
  }

  unclaim(slot: number): void {
    Atomics.store(this.words, this.w(slot, SlotField.STATE), SlotState.FREE);
  }

  payload(slot: number, length: number): Uint8Array {
    return new Uint8Array(this.pool.memory.buffer, this.base + slot * SLOT_BYTES + HEADER_BYTES, length);
  }

  publish(slot: number, kind: SlotKind, source: number, tag: number, length: number, data: number): void {
    const { words } = this;
    const { endpoints } = tables(this.pool);
    words[this.w(slot, SlotField.KIND)] = kind;
    words[this.w(slot, SlotField.SOURCE)] = source;
    words[this.w(slot, SlotField.TAG)] = tag;
    words[this.w(slot, SlotField.LENGTH)] = length;
    words[this.w(slot, SlotField.DATA)] = data;
    words[this.w(slot, SlotField.SEQ)] = endpoints.add(this.endpointSlot, EndpointField.SEQ, 1);
    Atomics.store(words, this.w(slot, SlotField.STATE), SlotState.FULL);
    endpoints.add(this.endpointSlot, EndpointField.DOORBELL, 1);
    Atomics.notify(this.pool.ctl, endpoints.addr(this.endpointSlot, EndpointField.DOORBELL));
  }

  /**
   * Full slots in the order they were published. A sender takes the lowest
   * free slot, so a scan could pass an empty slot that an earlier message
   * then fills, yet see a later message in a higher slot: messages of one
   * sender would come out of order. Every publish rings the doorbell after
   * marking its slot full, so a scan during which the doorbell did not move
   * saw every message published before the last one it saw; otherwise it
   * scans again. Not a wait: a rescan follows a publish, and while this
   * thread scans it frees no slot, so at most SLOTS publishes (then claims
   * fail with EAGAIN) can make it scan again.
   */
  full(): number[] {
    const { ctl } = this.pool;
    const bell = tables(this.pool).endpoints.addr(this.endpointSlot, EndpointField.DOORBELL);
    for (;;) {
      const before = Atomics.load(ctl, bell);
      const out: number[] = [];
      for (let s = 0; s < SLOTS; s++) if (Atomics.load(this.words, this.w(s, SlotField.STATE)) === SlotState.FULL) out.push(s);
      if (Atomics.load(ctl, bell) === before) return out.sort((a, b) => this.field(a, SlotField.SEQ) - this.field(b, SlotField.SEQ));
    }
  }

  field(slot: number, f: SlotField): number {
    return this.words[this.w(slot, f)]!;
  }
}
