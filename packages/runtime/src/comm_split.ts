import { type Device, type ProviderName, TransportError } from '@collective/transport';
import type { PeerRecord } from './comm_base/peer_record.js';
import { type CommId, createCommId } from './comm/comm_id.js';
import type { CommOptions } from './comm/comm_setup.js';
import type { CommState } from './comm/comm_state.js';
import type { DeviceArray } from './device_array.js';
import type { Dtype } from './dtypes.js';

/** Bytes of one rank's slot when records cross a communicator (split across processes). */
const RECORD_BYTES = 512;

/** A communicator half way through init: its record to publish, then finish() with every member's. */
export interface PreparedComm<C> {
  readonly record: PeerRecord;
  finish(directory: readonly PeerRecord[]): C;
  abandon(reason: string): void;
}

/**
 * What split needs of the communicator it splits. Its state is private to
 * the Communicator, which hands this over for the length of one split.
 */
export interface SplitParent<C> {
  readonly s: CommState;
  /** one all-gather round of split's own, `count` elements of `dtype` from `mine` into `all` (mine is this rank's block of all) */
  exchange(mine: DeviceArray, all: DeviceArray, count: number, dtype: Dtype): void;
  /** the barrier that ends a split: nobody sends on a child before every member joined it */
  barrier(): void;
  init(device: Device, id: CommId, rank: number, options: CommOptions): C;
  prepare(device: Device, id: CommId, rank: number, options: CommOptions, provider: ProviderName): PreparedComm<C>;
}

/** Refuses a bad color or key before any rank announces the split. */
export function checkSplitArgs(color: number, key: number): void {
  if (!Number.isInteger(color) || color < -1) throw new TransportError('EINVAL', `color must be a non-negative integer or -1 (got ${String(color)})`);
  if (!Number.isInteger(key) || Math.abs(key) > 0x7fffffff) throw new TransportError('EINVAL', `key must be a 32-bit integer (got ${String(key)})`);
}

/**
 * ncclCommSplit's rounds: colors and keys are exchanged, each process's
 * first member makes the child's block there and a second exchange tells
 * the members where it is; across processes the members' records cross
 * too. `index` is the parent's count of splits, part of the child's name.
 */
export function splitComm<C>(p: SplitParent<C>, color: number, key: number, options: CommOptions, index: number): C | undefined {
  const s = p.s;
  const n = s.size;
  const rank = s.rank;
  const all = new Int32Array(s.pool.memory.buffer as ArrayBuffer, s.internalBuf.offset, 2 * n);
  all[2 * rank] = color;
  all[2 * rank + 1] = key;
  const mine = all.subarray(2 * rank, 2 * rank + 2);
  p.exchange(mine, all, 2, 'int32');
  const members: number[] = [];
  for (let q = 0; q < n; q++) if (all[2 * q] === color) members.push(q);
  members.sort((a, b) => all[2 * a + 1]! - all[2 * b + 1]! || a - b);
  const here = (q: number) => s.directory === undefined || s.directory[q]!.process === s.pool.identity;
  const localMembers = members.filter(here);
  const leader = localMembers[0];
  let idWords: [number, number] = [0, 0];
  if (color !== -1 && leader === rank) {
    const id = createCommId(s.pool, members.length, localMembers.length);
    idWords = [id.offset, id.token];
  }
  all[2 * rank] = idWords[0];
  all[2 * rank + 1] = idWords[1];
  p.exchange(mine, all, 2, 'int32');
  const childOptions = { timeoutMs: s.timeoutMs, slotBytes: s.slotBytes, hostRanks: s.hostRanks, ...options };
  const id: CommId | undefined = color === -1 ? undefined : { kind: 'comm-id', pool: s.pool.id, offset: all[2 * leader!]!, nranks: members.length, token: all[2 * leader! + 1]!, label: `${s.label}.${index}-${color}` };
  if (s.directory === undefined) return id && p.init(s.device, id, members.indexOf(rank), childOptions);
  // Across processes, every child with members elsewhere prepares its
  // endpoint, the records cross through the parent, and nobody sends
  // before every member has finished joining.
  const prepared = id && localMembers.length < members.length ? p.prepare(s.device, id, members.indexOf(rank), childOptions, 'tcp') : undefined;
  let records: PeerRecord[];
  try {
    records = gatherRecords(p, prepared?.record);
  } catch (e) {
    prepared?.abandon((e as Error).message);
    throw e;
  }
  const child = id && (prepared ? prepared.finish(members.map((q) => ({ ...records[q]!, rank: members.indexOf(q) }))) : p.init(s.device, id, members.indexOf(rank), childOptions));
  p.barrier();
  return child;
}

/** Every rank's record (or its parent record, when it has none for the child), exchanged with an all-gather of fixed-size slots. */
function gatherRecords<C>(p: SplitParent<C>, mine: PeerRecord | undefined): PeerRecord[] {
  const s = p.s;
  const n = s.size;
  const text = new TextEncoder().encode(JSON.stringify(mine ?? s.directory![s.rank]!));
  if (text.length > RECORD_BYTES - 4) throw new TransportError('EINVAL', `a rank record of ${text.length} bytes does not fit the ${RECORD_BYTES}-byte exchange`);
  const buf = s.device.allocate(Math.ceil((n * RECORD_BYTES) / 4096) * 4096);
  try {
    const all = new Uint8Array(s.pool.memory.buffer as ArrayBuffer, buf.offset, n * RECORD_BYTES);
    const slot = all.subarray(s.rank * RECORD_BYTES, (s.rank + 1) * RECORD_BYTES);
    new DataView(slot.buffer, slot.byteOffset, 4).setInt32(0, text.length, true);
    slot.set(text, 4);
    p.exchange(slot, all, RECORD_BYTES, 'uint8');
    return Array.from({ length: n }, (_, q) => {
      const at = q * RECORD_BYTES;
      const len = new DataView(all.buffer, all.byteOffset + at, 4).getInt32(0, true);
      return JSON.parse(new TextDecoder().decode(all.slice(at + 4, at + 4 + len))) as PeerRecord;
    });
  } finally {
    s.regs.sweep(true);
    s.device.free(buf);
  }
}
