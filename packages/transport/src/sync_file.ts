import { deadlineAfter } from './atomics_wait.js';
import { defaultWaitMs } from './default_wait.js';
import { fail } from './errors.js';
import { Fence, type FenceId, isFencePending, waitFence } from './fence.js';
import type { Pool } from './pool.js';

export interface SyncFileDescriptor {
  kind: 'sync_file';
  pool: number;
  fences: FenceId[];
}

/** A snapshot of fences that can travel to another worker and be waited on there. */
export class SyncFile {
  private constructor(
    readonly pool: Pool,
    readonly fences: readonly FenceId[],
  ) {}

  static fromFences(pool: Pool, fences: readonly (Fence | FenceId)[]): SyncFile {
    return new SyncFile(pool, fences.map((f) => (f instanceof Fence ? f.id : Fence.from(pool, f).id)));
  }

  static from(pool: Pool, descriptor: SyncFileDescriptor): SyncFile {
    if (!descriptor || descriptor.kind !== 'sync_file' || !Array.isArray(descriptor.fences)) {
      fail('EINVAL', 'not a sync file descriptor (expected syncFile.descriptor)');
    }
    if (descriptor.pool !== pool.id) fail('EINVAL', 'sync file belongs to another pool');
    return SyncFile.fromFences(pool, descriptor.fences);
  }

  get descriptor(): SyncFileDescriptor {
    return { kind: 'sync_file', pool: this.pool.id, fences: [...this.fences] };
  }

  get signaled(): boolean {
    return this.fences.every((f) => !isFencePending(this.pool, f.slot, f.word));
  }

  /** Waits for every fence of the snapshot, for at most timeoutMs (default COLLECTIVE_WAIT_TIMEOUT_MS, 60 s; Infinity: no deadline). */
  wait(timeoutMs: number = defaultWaitMs()): void {
    const deadline = deadlineAfter(timeoutMs);
    for (const f of this.fences) waitFence(this.pool, f, deadline, timeoutMs);
  }
}
