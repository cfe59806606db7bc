import { randomFill } from './platform.js';
import { MrField } from './control_layout.js';
import type { RecordTable } from './record_table.js';

/**
 * Memory-region keys (FI_MR_PROV_KEY style): key = tag × capacity + slot,
 * where `slot` is the MR record and `tag` a random number drawn at each
 * registration and kept in the record (TAG_LO, TAG_HI). The slot lets a
 * target find the record in one step; the tag is what a peer must know.
 *
 * Keys are JavaScript numbers everywhere (the public RmaOp.key, descriptors
 * that carry them as two int32 words, JSON records), so a key stays below
 * 2^53: with 4096 records that leaves 41 random bits, not libfabric's 64.
 * Guessing is bounded further by the tcp target, which closes a connection
 * after 64 refused operations: a peer gets 64 tries per connection, against
 * 2^41 tags per live region.
 *
 * A tag is never 0: a record whose tag words are still zero (just claimed,
 * not yet filled) matches no key.
 */

const TWO_32 = 2 ** 32;

/** One more than the largest tag: tag × capacity + (capacity − 1) ≤ 2^53 − 1. */
export function tagLimit(capacity: number): number {
  return Math.floor(2 ** 53 / capacity);
}

const words = new Uint32Array(2);

/** A uniformly random tag in [1, tagLimit), different from `previous` (the record's last one). */
export function drawTag(capacity: number, previous: number): number {
  const limit = tagLimit(capacity);
  const bits = Math.ceil(Math.log2(limit));
  const hiBits = Math.max(0, bits - 32);
  for (;;) {
    randomFill(words);
    // Rejection keeps the draw uniform when the limit is not a power of two.
    const hi = hiBits === 0 ? 0 : words[1]! % 2 ** hiBits;
    const lo = bits >= 32 ? words[0]! : words[0]! % 2 ** bits;
    const tag = hi * TWO_32 + lo;
    if (tag !== 0 && tag < limit && tag !== previous) return tag;
  }
}

export function makeKey(tag: number, capacity: number, slot: number): number {
  return tag * capacity + slot;
}

/** The record a key names, or -1 for a value that is no key of a table of `capacity` records. */
export function keySlot(key: number, capacity: number): number {
  return Number.isSafeInteger(key) && key >= 0 ? key % capacity : -1;
}

/** The tag kept in record `slot` (0 while it has none). */
export function storedTag(mrs: RecordTable, slot: number): number {
  return (mrs.get(slot, MrField.TAG_HI) >>> 0) * TWO_32 + (mrs.get(slot, MrField.TAG_LO) >>> 0);
}

export function storeTag(mrs: RecordTable, slot: number, tag: number): void {
  mrs.set(slot, MrField.TAG_HI, Math.floor(tag / TWO_32) | 0);
  mrs.set(slot, MrField.TAG_LO, tag % TWO_32 | 0);
}

/**
 * Whether `key` is the key record `slot` was registered under. The record
 * may be live, closed (a closed region keeps its tag, so a late operation
 * is told apart from a guess) or reused (a new tag: the old key is dead).
 */
export function keyMatches(mrs: RecordTable, slot: number, key: number): boolean {
  if (slot < 0 || slot >= mrs.capacity) return false;
  const tag = storedTag(mrs, slot);
  return tag !== 0 && makeKey(tag, mrs.capacity, slot) === key;
}
