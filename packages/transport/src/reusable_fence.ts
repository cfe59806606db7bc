import { deadlineAfter } from './atomics_wait.js';
import { type ErrorCode, fail } from './errors.js';
import { BufferField, FenceField, FenceState, ResvField } from './control_layout.js';
import { ERRNO_CODES, isFencePending, nextPendingWord, waitFence, type FenceId } from './fence.js';
import { resvEntry, tables } from './pool_tables.js';
import type { Pool } from './pool.js';
import type { Usage } from './reservation.js';

/**
 * A fence slot and a reservation entry that one owner keeps for a
 * buffer it accesses over and over (a communicator's registration of a
 * user buffer). Each access publishes a fresh fence in the same entry, so
 * a call costs one short locked section instead of Fence.create plus
 * Reservation.add, and the check for conflicting fences and the publish of
 * our own happen under one lock, as with dma_resv_lock.
 */
/** Fence records per 64-byte line of the control block. */
const LINE_SLOTS = 64 / (FenceField.SIZE * 4);

export class ReusableFence {
  private word = 0;
  private armed = false;
  private released = false;
  private readonly ctl: Int32Array;
  /** word indices used on every call, computed once */
  private readonly fenceAddr: number;
  private readonly entriesAddr: number;
  private readonly reservedAddr: number;

  private constructor(
    readonly pool: Pool,
    readonly bufferSlot: number,
    readonly bufferGen: number,
    private readonly fenceSlot: number,
    private readonly entry: number,
    readonly usage: Usage,
  ) {
    const t = tables(pool);
    this.ctl = pool.ctl;
    this.fenceAddr = t.fences.addr(fenceSlot, FenceField.WORD);
    this.entriesAddr = t.buffers.addr(bufferSlot, BufferField.RESV_ENTRIES);
    this.reservedAddr = t.buffers.addr(bufferSlot, BufferField.RESV_RESERVED);
  }

  /** Claims a fence slot and an entry of the buffer's reservation (the buffer must be live). */
  static claim(pool: Pool, bufferSlot: number, bufferGen: number, usage: Usage): ReusableFence {
    const { buffers, fences } = tables(pool);
    const { ctl } = pool;
    return pool.locked(() => {
      if (!buffers.isLive(bufferSlot, bufferGen)) fail('ESTALE', 'the buffer has been freed');
      let entry = -1;
      for (let i = 0; i < pool.layout.caps.fencesPerBuffer && entry < 0; i++) {
        const e = resvEntry(pool, bufferSlot, i);
        if (ctl[e + ResvField.RESERVED] !== 0) continue;
        const slot = ctl[e + ResvField.FENCE]! - 1;
        // An entry whose fence has completed is free, as Reservation.add treats it.
        if (slot >= 0 && !isFencePending(pool, slot, ctl[e + ResvField.PENDING_WORD]!)) {
          ctl[e + ResvField.FENCE] = 0;
          buffers.add(bufferSlot, BufferField.RESV_ENTRIES, -1);
        }
        if (ctl[e + ResvField.FENCE] === 0) entry = e;
      }
      if (entry < 0) fail('EAGAIN', `the buffer's reservation holds ${pool.layout.caps.fencesPerBuffer} fences; wait for some to signal`);
      // A fence is written on every call: it takes a whole cache line of the
      // fence table (the slots beside it stay owned and unused), so two
      // threads' fences never share a line.
      let fenceSlot = -1;
      for (let s = 0; s + LINE_SLOTS <= fences.capacity && fenceSlot < 0; s += LINE_SLOTS) {
        let free = true;
        for (let k = s; k < s + LINE_SLOTS; k++) {
          if ((fences.get(k, FenceField.WORD) & 3) === FenceState.PENDING || fences.get(k, FenceField.OWNED) !== 0) free = false;
        }
        if (free) fenceSlot = s;
      }
      if (fenceSlot < 0) fail('EAGAIN', `no free line of ${LINE_SLOTS} fences among ${fences.capacity}; raise options.capacities.fences`);
      for (let k = fenceSlot; k < fenceSlot + LINE_SLOTS; k++) fences.set(k, FenceField.OWNED, 1);
      fences.set(fenceSlot, FenceField.ERRNO, 0);
      ctl[entry + ResvField.RESERVED] = 1;
      ctl[entry + ResvField.FENCE] = fenceSlot + 1;
      ctl[entry + ResvField.PENDING_WORD] = fences.get(fenceSlot, FenceField.WORD);
      ctl[entry + ResvField.USAGE] = usage;
      buffers.add(bufferSlot, BufferField.RESV_ENTRIES, 1);
      buffers.add(bufferSlot, BufferField.RESV_RESERVED, 1);
      return new ReusableFence(pool, bufferSlot, bufferGen, fenceSlot, entry, usage);
    });
  }

  /**
   * Waits (up to timeoutMs) for the buffer's other fences at `waitFor` or
   * below, then publishes a fresh pending fence of this entry. Throws
   * ETIMEDOUT, or the error a conflicting fence failed with, leaving
   * nothing armed.
   *
   * Fast path without the lock: when the reservation holds only entries
   * reserved by their owners' registrations (which the owner's thread uses
   * one call at a time), the fence is armed first and the count checked
   * after. A thread adding a fence concurrently either is seen here (and we
   * fall back to the locked path) or sees our pending fence when it looks:
   * never both proceed unaware of each other.
   */
  begin(waitFor: Usage, timeoutMs: number): void {
    if (this.released) fail('EINVAL', 'reusable fence was released');
    if (this.armed) fail('EINVAL', 'reusable fence is already armed; end() it first');
    const ctl = this.ctl;
    if (ctl[this.entriesAddr] === ctl[this.reservedAddr]) {
      this.arm();
      // The Dekker half that needs sequential consistency is our store of
      // the fence (in arm) against an adder's Atomics.add of the entry
      // count: that count is loaded atomically. The reserved count changes
      // only with the entry count beside it, so a stale plain read of it
      // can only make the two differ and send us down the locked path.
      if (Atomics.load(ctl, this.entriesAddr) === ctl[this.reservedAddr]) return;
      this.disarm();
    }
    this.beginLocked(waitFor, timeoutMs);
  }

  private arm(): void {
    const ctl = this.ctl;
    // Only this owner writes its fence word, so its last value is ours to
    // read plainly. Each atomic costs a V8 builtin call (~25 ns here); the
    // entry's pending word is stored first, plainly, and published by the
    // atomic store of the fence word after it.
    this.word = nextPendingWord(ctl[this.fenceAddr]!);
    ctl[this.entry + ResvField.PENDING_WORD] = this.word;
    Atomics.store(ctl, this.fenceAddr, this.word);
    this.armed = true;
  }

  /** Withdraws a fence armed on the fast path that turned out to race a foreign one. */
  private disarm(): void {
    this.complete(FenceState.SIGNALED, 0);
  }

  private beginLocked(waitFor: Usage, timeoutMs: number): void {
    const deadline = deadlineAfter(timeoutMs);
    const { buffers } = tables(this.pool);
    const blockers: FenceId[] = [];
    for (;;) {
      blockers.length = 0;
      this.pool.locked(() => {
        // Only reserved entries: nothing else can conflict.
        if (buffers.get(this.bufferSlot, BufferField.RESV_ENTRIES) > 1) this.collectBlockers(waitFor, blockers);
        if (blockers.length === 0) this.arm();
      });
      if (this.armed) return;
      // One deadline for every round: the call's timeoutMs (registrations.ts passes the collective's).
      for (const id of blockers) waitFence(this.pool, id, deadline, timeoutMs);
    }
  }

  private collectBlockers(waitFor: Usage, out: FenceId[]): void {
    const { ctl } = this.pool;
    for (let i = 0; i < this.pool.layout.caps.fencesPerBuffer; i++) {
      const e = resvEntry(this.pool, this.bufferSlot, i);
      if (e === this.entry) continue;
      const slot = ctl[e + ResvField.FENCE]! - 1;
      const word = ctl[e + ResvField.PENDING_WORD]!;
      if (slot >= 0 && ctl[e + ResvField.USAGE]! <= waitFor && isFencePending(this.pool, slot, word)) {
        out.push({ kind: 'fence', pool: this.pool.id, slot, word });
      }
    }
  }

  get isArmed(): boolean {
    return this.armed;
  }

  /** Signals the armed fence: the access finished. */
  end(): void {
    this.complete(FenceState.SIGNALED, 0);
  }

  /** Signals the armed fence with an error every waiter sees (dma_fence_set_error). */
  fail(code: ErrorCode = 'EIO'): void {
    this.complete(FenceState.FAILED, (ERRNO_CODES as readonly ErrorCode[]).indexOf(code) + 1 || 1);
  }

  private complete(state: FenceState, errno: number): void {
    if (!this.armed) fail('EINVAL', 'reusable fence is not armed');
    this.armed = false;
    const ctl = this.ctl;
    if (errno !== 0) Atomics.store(ctl, this.fenceAddr + (FenceField.ERRNO - FenceField.WORD), errno);
    Atomics.store(ctl, this.fenceAddr, (this.word & ~3) | state);
    if (Atomics.load(ctl, this.fenceAddr + (FenceField.WAITERS - FenceField.WORD)) > 0) Atomics.notify(ctl, this.fenceAddr);
  }

  /** Gives the entry and the fence slot back (signalling first if still armed). */
  release(): void {
    if (this.released) return;
    if (this.armed) this.fail('ECANCELED');
    this.released = true;
    const { ctl } = this.pool;
    const { buffers, fences } = tables(this.pool);
    this.pool.locked(() => {
      for (let k = this.fenceSlot; k < this.fenceSlot + LINE_SLOTS; k++) fences.set(k, FenceField.OWNED, 0);
      if (!buffers.isLive(this.bufferSlot, this.bufferGen)) return;
      ctl.fill(0, this.entry, this.entry + ResvField.SIZE);
      buffers.add(this.bufferSlot, BufferField.RESV_ENTRIES, -1);
      buffers.add(this.bufferSlot, BufferField.RESV_RESERVED, -1);
    });
  }
}
