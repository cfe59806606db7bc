import { ExportField, ExportState, MrField, MrState } from '../../control_layout.js';
import { keyMatches, keySlot } from '../../mr_key.js';
import { checkTarget } from '../../mr_target.js';
import { windowsUnchanged } from '../../mr_window.js';
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
 * The target side of an RMA: the providers' one check (checkTarget), its
 * refusal as this provider's Reason (the same numbers) for the target's log.
 * Revocation is checked once the caller holds the region's in-flight guard
 * (regionUsable).
 */
export function resolveTarget(pool: Pool, key: number, domain: number, offset: number, length: number, need: number): MrHit | MrMiss {
  const t = checkTarget(tables(pool).mrs, key, domain, offset, length, need);
  return 'refusal' in t ? { reason: t.refusal as number as Reason, arg: t.arg } : t;
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
