import { deadlineAfter } from './atomics_wait.js';
import { defaultWaitMs } from './default_wait.js';
import { fail } from './errors.js';
import { BufferField, ResvField } from './control_layout.js';
import { Fence, type FenceId, isFencePending, waitFence } from './fence.js';
import { resvEntry, tables } from './pool_tables.js';
import type { Pool } from './pool.js';
import { SyncFile } from './sync_file.js';

/** dma_resv_usage: asking for a level returns every fence at that level or below. */
export const Usage = { KERNEL: 0, WRITE: 1, READ: 2, BOOKKEEP: 3 } as const;
export type Usage = (typeof Usage)[keyof typeof Usage];

export type Access = 'read' | 'write' | 'move';

/**
 * The fences an access must wait for: a read waits for writers (and
 * kernel work), a write for every implicit-sync fence, a move or free for
 * everything including BOOKKEEP. KERNEL is below all of them, so nothing
 * skips it.
 */
export function usageFor(access: Access): Usage {
  if (access === 'read') return Usage.WRITE;
  if (access === 'write') return Usage.READ;
  return Usage.BOOKKEEP;
}

function checkUsage(usage: number): void {
  if (usage !== 0 && usage !== 1 && usage !== 2 && usage !== 3) {
    fail('EINVAL', `usage must be Usage.KERNEL, WRITE, READ or BOOKKEEP (got ${String(usage)})`);
  }
}

/** The reservation object of one buffer; shared by its exporter and every importer. */
export class Reservation {
  constructor(
    readonly pool: Pool,
    readonly bufferSlot: number,
    readonly bufferGen: number,
  ) {}

  private checkLive(): void {
    if (!tables(this.pool).buffers.isLive(this.bufferSlot, this.bufferGen)) {
      fail('ESTALE', 'the buffer of this reservation has been freed');
    }
  }

  add(fence: Fence | FenceId, usage: Usage): void {
    checkUsage(usage);
    const id = fence instanceof Fence ? fence.id : Fence.from(this.pool, fence).id;
    if (id.pool !== this.pool.id) fail('EINVAL', 'fence belongs to another pool');
    const { ctl } = this.pool;
    this.pool.locked(() => {
      this.checkLive();
      let free = -1;
      for (let i = 0; i < this.pool.layout.caps.fencesPerBuffer; i++) {
        const e = resvEntry(this.pool, this.bufferSlot, i);
        if (ctl[e + ResvField.RESERVED] === 1) continue;
        const slot = ctl[e + ResvField.FENCE]! - 1;
        if (slot >= 0 && !isFencePending(this.pool, slot, ctl[e + ResvField.PENDING_WORD]!)) {
          ctl[e + ResvField.FENCE] = 0;
          tables(this.pool).buffers.add(this.bufferSlot, BufferField.RESV_ENTRIES, -1);
        }
        if (slot === id.slot && ctl[e + ResvField.PENDING_WORD] === id.word && ctl[e + ResvField.FENCE] !== 0) {
          ctl[e + ResvField.USAGE] = Math.min(ctl[e + ResvField.USAGE]!, usage);
          return;
        }
        if (ctl[e + ResvField.FENCE] === 0 && free < 0) free = e;
      }
      if (free < 0) {
        fail('EAGAIN', `reservation holds ${this.pool.layout.caps.fencesPerBuffer} pending fences; wait for some first`);
      }
      ctl[free + ResvField.PENDING_WORD] = id.word;
      ctl[free + ResvField.USAGE] = usage;
      ctl[free + ResvField.FENCE] = id.slot + 1;
      tables(this.pool).buffers.add(this.bufferSlot, BufferField.RESV_ENTRIES, 1);
    });
  }

  /** Pending fences at `usage` or below. */
  fences(usage: Usage): FenceId[] {
    checkUsage(usage);
    const { ctl } = this.pool;
    return this.pool.locked(() => {
      this.checkLive();
      const out: FenceId[] = [];
      for (let i = 0; i < this.pool.layout.caps.fencesPerBuffer; i++) {
        const e = resvEntry(this.pool, this.bufferSlot, i);
        const slot = ctl[e + ResvField.FENCE]! - 1;
        const word = ctl[e + ResvField.PENDING_WORD]!;
        if (slot >= 0 && ctl[e + ResvField.USAGE]! <= usage && isFencePending(this.pool, slot, word)) {
          out.push({ kind: 'fence', pool: this.pool.id, slot, word });
        }
      }
      return out;
    });
  }

  /**
   * Blocks until every fence at `usage` or below has signalled, for at
   * most timeoutMs (by default COLLECTIVE_WAIT_TIMEOUT_MS, 60 s: unlike
   * dma_resv_wait_timeout with MAX_SCHEDULE_TIMEOUT, nothing bounds a
   * user's fence, see default_wait.ts; Infinity waits as long as it takes).
   */
  wait(usage: Usage, timeoutMs: number = defaultWaitMs()): void {
    const deadline = deadlineAfter(timeoutMs);
    for (const id of this.fences(usage)) waitFence(this.pool, id, deadline, timeoutMs);
  }

  /** Whether waiting at `usage` would block right now. */
  test(usage: Usage): boolean {
    return this.fences(usage).length === 0;
  }

  /**
   * DMA_BUF_IOCTL_EXPORT_SYNC_FILE: 'read' snapshots the writers a reader
   * must wait for; 'write' and 'rw' snapshot every implicit-sync fence.
   */
  exportSyncFile(mode: 'read' | 'write' | 'rw'): SyncFile {
    if (mode !== 'read' && mode !== 'write' && mode !== 'rw') fail('EINVAL', `sync file mode must be 'read', 'write' or 'rw' (got ${String(mode)})`);
    return SyncFile.fromFences(this.pool, this.fences(mode === 'read' ? Usage.WRITE : Usage.READ));
  }

  /** DMA_BUF_IOCTL_IMPORT_SYNC_FILE: adds its fences at READ or WRITE usage. */
  importSyncFile(file: SyncFile, mode: 'read' | 'write'): void {
    if (mode !== 'read' && mode !== 'write') fail('EINVAL', `sync file import mode must be 'read' or 'write' (got ${String(mode)})`);
    const usage = mode === 'read' ? Usage.READ : Usage.WRITE;
    for (const id of file.fences) {
      if (isFencePending(this.pool, id.slot, id.word)) this.add(id, usage);
    }
  }
}

/**
 * Allocation-free hot-path check: could an access at `usage` to the device
 * buffer holding pool byte `offset` have to wait? False for host memory.
 */
export function mayBlockAt(pool: Pool, offset: number, usage: Usage): boolean {
  const page = Math.floor(offset / 4096);
  if (page < 0 || page >= pool.layout.pages) return false;
  const tag = Atomics.load(pool.ctl, pool.layout.pageTable + page);
  if (tag <= 0) return false;
  if (Atomics.load(pool.ctl, pool.layout.buffers + (tag - 1) * BufferField.SIZE + BufferField.RESV_ENTRIES) === 0) return false;
  const { ctl } = pool;
  const per = pool.layout.caps.fencesPerBuffer;
  const first = pool.layout.resv + (tag - 1) * per * ResvField.SIZE;
  for (let i = 0; i < per; i++) {
    const e = first + i * ResvField.SIZE;
    const slot = Atomics.load(ctl, e + ResvField.FENCE) - 1;
    if (slot >= 0 && Atomics.load(ctl, e + ResvField.USAGE) <= usage && isFencePending(pool, slot, Atomics.load(ctl, e + ResvField.PENDING_WORD))) return true;
  }
  return false;
}

/**
 * The reservation of the device buffer holding pool byte `offset`, or
 * undefined for memory no device buffer owns (host memory, the reserved
 * page). Lets a collective honour fences on arrays it was handed.
 */
export function reservationAt(pool: Pool, offset: number): Reservation | undefined {
  const page = Math.floor(offset / 4096);
  if (page < 0 || page >= pool.layout.pages) return undefined;
  const tag = Atomics.load(pool.ctl, pool.layout.pageTable + page);
  if (tag <= 0) return undefined;
  const slot = tag - 1;
  return new Reservation(pool, slot, tables(pool).buffers.get(slot, BufferField.GEN));
}
