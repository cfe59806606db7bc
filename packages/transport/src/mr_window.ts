import { MrField } from './control_layout.js';
import { MrAccess } from './fabric/access.js';
import type { RecordTable } from './record_table.js';

/**
 * Remote-access windows of a memory region registered `windowed`: peers
 * reach only the byte ranges its owner opened (one for remoteRead, one for
 * remoteWrite), and nothing once they are closed. The runtime opens a
 * call's views before announcing the call and closes them when it leaves,
 * so a peer's key to a user buffer reaches that call's bytes, during that
 * call, and nothing else.
 *
 * The owner writes the words while initiators of other threads (shm) read
 * them: a sequence word makes the pair of words one value (odd while they
 * change; a reader that sees it move refuses), and a transfer that spans
 * several checks (tcp, per system call) is refused once it moves at all.
 */

const CLOSED = -1;

const fields = (need: number): [MrField, MrField] => (need === MrAccess.remoteWrite ? [MrField.WRITE_OFF, MrField.WRITE_LEN] : [MrField.READ_OFF, MrField.READ_LEN]);

/** At registration (record freshly claimed, all zero): windows closed when `windowed`. */
export function initWindows(mrs: RecordTable, slot: number, windowed: boolean): void {
  if (!windowed) return;
  mrs.set(slot, MrField.READ_OFF, CLOSED);
  mrs.set(slot, MrField.WRITE_OFF, CLOSED);
  mrs.set(slot, MrField.WINDOWED, 1);
}

function change(mrs: RecordTable, slot: number, write: () => void): void {
  mrs.add(slot, MrField.WIN_SEQ, 1);
  try {
    write();
  } finally {
    mrs.add(slot, MrField.WIN_SEQ, 1);
  }
}

/** Opens (or moves) the window of one access bit (remoteRead or remoteWrite). Owner only. */
export function setWindow(mrs: RecordTable, slot: number, need: number, offset: number, length: number): void {
  const [off, len] = fields(need);
  change(mrs, slot, () => {
    mrs.set(slot, len, length);
    mrs.set(slot, off, offset);
  });
}

export function closeWindows(mrs: RecordTable, slot: number): void {
  change(mrs, slot, () => {
    mrs.set(slot, MrField.READ_OFF, CLOSED);
    mrs.set(slot, MrField.WRITE_OFF, CLOSED);
  });
}

/**
 * Whether a peer's access `need` to bytes [offset, offset + length) of the
 * region is inside its open window: the windows' sequence word to re-check
 * against later (windowsUnchanged), or -1. Always allowed (0) when the
 * region is not windowed.
 */
export function windowAllows(mrs: RecordTable, slot: number, need: number, offset: number, length: number): number {
  if (mrs.get(slot, MrField.WINDOWED) === 0) return 0;
  const seq = mrs.get(slot, MrField.WIN_SEQ);
  if ((seq & 1) !== 0) return -1;
  const [offField, lenField] = fields(need);
  const off = mrs.get(slot, offField);
  const len = mrs.get(slot, lenField);
  if (mrs.get(slot, MrField.WIN_SEQ) !== seq) return -1;
  return off !== CLOSED && offset >= off && offset + length <= off + len ? seq & 0x7fffffff : -1;
}

/** Whether the windows are as they were when windowAllows returned `seq`. */
export function windowsUnchanged(mrs: RecordTable, slot: number, seq: number): boolean {
  return mrs.get(slot, MrField.WINDOWED) === 0 || (mrs.get(slot, MrField.WIN_SEQ) & 0x7fffffff) === seq;
}
