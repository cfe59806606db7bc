import { MrField, MrState } from './control_layout.js';
import { keyMatches, keySlot } from './mr_key.js';
import { windowAllows } from './mr_window.js';
import type { RecordTable } from './record_table.js';

/** Why a peer's access to a region is refused. */
export const enum MrRefusal {
  /** the key names no region of the target endpoint's domain */
  NOT_REGISTERED = 1,
  /** arg: the access bit that is missing */
  NO_ACCESS = 2,
  /** arg: the region's length */
  RANGE = 3,
  CLOSED = 4,
  /** arg: the access bit whose window the range is outside */
  WINDOW = 16,
}

/** A region a peer may reach: its record, the pool byte offset of the first byte asked for, and its windows as checked. */
export interface MrTarget {
  slot: number;
  start: number;
  /** windowAllows()'s answer, re-checked (windowsUnchanged) where a transfer runs on after the check */
  win: number;
}

/**
 * The target side of an RMA, the same for every provider: the key (its
 * random tag, state, the target endpoint's domain), closed, access, range,
 * and a windowed region's remote window. Revocation is the caller's to
 * check once it holds the region's in-flight guard.
 */
export function checkTarget(mrs: RecordTable, key: number, domain: number, offset: number, length: number, need: number): MrTarget | { refusal: MrRefusal; arg: number } {
  const slot = keySlot(key, mrs.capacity);
  if (!keyMatches(mrs, slot, key)) return { refusal: MrRefusal.NOT_REGISTERED, arg: 0 };
  const state = mrs.get(slot, MrField.STATE);
  if (state === MrState.FREE || mrs.get(slot, MrField.DOMAIN) !== domain) return { refusal: MrRefusal.NOT_REGISTERED, arg: 0 };
  if (state === MrState.CLOSED) return { refusal: MrRefusal.CLOSED, arg: 0 };
  if ((mrs.get(slot, MrField.ACCESS) & need) !== need) return { refusal: MrRefusal.NO_ACCESS, arg: need };
  const size = mrs.get(slot, MrField.LENGTH);
  if (!(offset >= 0 && offset + length <= size)) return { refusal: MrRefusal.RANGE, arg: size };
  const win = windowAllows(mrs, slot, need, offset, length);
  if (win < 0) return { refusal: MrRefusal.WINDOW, arg: need };
  return { slot, start: mrs.get(slot, MrField.OFFSET) + offset, win };
}
