import { ExportField, ExportState, MrField, MrState } from '../../control_layout.js';
import { keyMatches, keySlot } from '../../mr_key.js';
import { windowAllows, windowsUnchanged } from '../../mr_window.js';
import { tables } from '../../pool_tables.js';
import type { Pool } from '../../pool.js';
import { Reason } from './reasons.js';

/** A region that passed its checks: its record slot and the pool byte offset of the first byte asked for. */
export interface MrHit {
  slot: number;
  start: number;
  /** its windows as checked (windowAllows), re-checked before every piece that moves */
  win: number;
}

/** A refusal, for the target's log only: the reason and its argument (the access bit, or the region's length). */
export interface MrMiss {
  reason: Reason;
  arg: number;
}

/**
 * The target side of an RMA, checked against this process's MR table the
 * way shm checks it: key (its random tag, state, scoped to the target
 * endpoint's domain), closed, access, range, and the remote window of a
 * windowed region. Revocation is checked once the caller holds the
 * region's in-flight guard (regionUsable).
 */
export function resolveTarget(pool: Pool, key: number, domain: number, offset: number, length: number, need: number): MrHit | MrMiss {
  const { mrs } = tables(pool);
  const slot = keySlot(key, mrs.capacity);
  if (!keyMatches(mrs, slot, key)) return { reason: Reason.NOT_REGISTERED, arg: 0 };
  const state = mrs.get(slot, MrField.STATE);
  if (state === MrState.FREE || mrs.get(slot, MrField.DOMAIN) !== domain) {
    return { reason: Reason.NOT_REGISTERED, arg: 0 };
  }
  if (state === MrState.CLOSED) return { reason: Reason.CLOSED, arg: 0 };
  if ((mrs.get(slot, MrField.ACCESS) & need) !== need) return { reason: Reason.NO_ACCESS, arg: need };
  const size = mrs.get(slot, MrField.LENGTH);
  if (!(offset >= 0 && offset + length <= size)) return { reason: Reason.RANGE, arg: size };
  const win = windowAllows(mrs, slot, need, offset, length);
  if (win < 0) return { reason: Reason.WINDOW, arg: need };
  return { slot, start: mrs.get(slot, MrField.OFFSET) + offset, win };
}

/**
 * The initiator's own region, named by its key: still the registration
 * the key was issued for and live. Access and range were checked when the
 * operation was posted.
 */
export function resolveLocal(pool: Pool, key: number, offset: number): MrHit | MrMiss {
  const { mrs } = tables(pool);
  const slot = keySlot(key, mrs.capacity);
  if (!keyMatches(mrs, slot, key) || mrs.get(slot, MrField.STATE) !== MrState.LIVE) {
    return { reason: Reason.LOCAL_CLOSED, arg: 0 };
  }
  return { slot, start: mrs.get(slot, MrField.OFFSET) + offset, win: 0 };
}

/**
 * Whether the region a key was issued for is still there and usable,
 * checked inside its in-flight guard before every piece that moves: the
 * key's tag (a closed region's record is reused by the next registration,
 * under a new tag), its state and the export's revocation, and for a
 * peer's access the region's windows, unchanged since `win` was checked.
 */
export function regionUsable(pool: Pool, key: number, slot: number, local: boolean, win: number): Reason {
  const { mrs, exports } = tables(pool);
  if (!keyMatches(mrs, slot, key) || mrs.get(slot, MrField.STATE) !== MrState.LIVE) return local ? Reason.LOCAL_CLOSED : Reason.CLOSED;
  if (exports.get(mrs.get(slot, MrField.EXPORT), ExportField.STATE) === ExportState.REVOKED) return local ? Reason.LOCAL_REVOKED : Reason.REVOKED;
  if (!local && !windowsUnchanged(mrs, slot, win)) return Reason.WINDOW;
  return Reason.OK;
}

/** Word index in pool.ctl of a region's in-flight count. */
export function inflightWord(pool: Pool, slot: number): number {
  return tables(pool).mrs.addr(slot, MrField.INFLIGHT);
}
