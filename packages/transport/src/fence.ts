import { deadlineAfter, waitWhileEqual } from './atomics_wait.js';
import { defaultWaitMs, LONGER_WAIT_HINT } from './default_wait.js';
import { type ErrorCode, fail, TransportError } from './errors.js';
import { FenceField, FenceState, Header } from './control_layout.js';
import { tables } from './pool_tables.js';
import type { Pool } from './pool.js';

/** A fence as it crosses threads: slot plus the word it holds while pending. */
export interface FenceId {
  kind: 'fence';
  pool: number;
  slot: number;
  word: number;
}


/** The word a fence holds while pending with generation `gen`. */
export const pendingWord = (gen: number): number => ((gen << 2) | FenceState.PENDING) | 0;

/** The next pending word for a fence slot whose word is now `word`. */
export const nextPendingWord = (word: number): number => pendingWord(((word >>> 2) + 1) & 0x1fffffff);

export const ERRNO_CODES = ['EIO', 'ECANCELED', 'ETIMEDOUT', 'EACCES'] as const;

/**
 * A dma_fence: signalled once, waited on by any thread. Its pending word
 * carries its generation, so a slot recycled after completion can never be
 * mistaken for the fence a waiter asked about.
 */
export class Fence {
  readonly pool: Pool;
  readonly id: FenceId;

  private constructor(pool: Pool, id: FenceId) {
    this.pool = pool;
    this.id = id;
  }

  static create(pool: Pool): Fence {
    const { fences } = tables(pool);
    const cap = fences.capacity;
    const id = pool.locked(() => {
      for (let i = 0; i < cap; i++) {
        // Round-robin reuse keeps completed fences readable for as long as possible.
        const slot = (Atomics.add(pool.ctl, Header.FENCE_CURSOR, 1) >>> 0) % cap;
        const word = fences.get(slot, FenceField.WORD);
        if ((word & 3) !== FenceState.PENDING && fences.get(slot, FenceField.OWNED) === 0) {
          const next = nextPendingWord(word);
          fences.set(slot, FenceField.ERRNO, 0);
          fences.set(slot, FenceField.WORD, next);
          return { kind: 'fence' as const, pool: pool.id, slot, word: next };
        }
      }
      return fail('EAGAIN', `all ${cap} fences are pending; signal some or raise options.capacities.fences`);
    });
    return new Fence(pool, id);
  }

  static from(pool: Pool, id: FenceId): Fence {
    if (!id || id.kind !== 'fence' || !Number.isInteger(id.slot) || !Number.isInteger(id.word)) {
      fail('EINVAL', 'not a fence id (expected the id property of a Fence)');
    }
    if (id.pool !== pool.id) fail('EINVAL', 'fence belongs to another pool');
    if (id.slot < 0 || id.slot >= tables(pool).fences.capacity) fail('EINVAL', `fence slot ${id.slot} out of range`);
    return new Fence(pool, id);
  }

  private get addr(): number {
    return tables(this.pool).fences.addr(this.id.slot, FenceField.WORD);
  }

  get signaled(): boolean {
    return Atomics.load(this.pool.ctl, this.addr) !== this.id.word;
  }

  signal(): void {
    this.complete(FenceState.SIGNALED, 0);
  }

  /** Completes the fence with an error that every waiter sees. */
  signalError(code: ErrorCode = 'EIO'): void {
    this.complete(FenceState.FAILED, (ERRNO_CODES as readonly ErrorCode[]).indexOf(code) + 1 || 1);
  }

  private complete(state: FenceState, errno: number): void {
    const { ctl } = this.pool;
    const { fences } = tables(this.pool);
    fences.set(this.id.slot, FenceField.ERRNO, errno);
    const done = (this.id.word & ~3) | state;
    if (Atomics.compareExchange(ctl, this.addr, this.id.word, done) !== this.id.word) {
      fail('EINVAL', 'fence was already signalled');
    }
    wakeFenceWaiters(this.pool, this.id.slot);
  }

  /**
   * Throws ETIMEDOUT if still pending after timeoutMs (by default
   * COLLECTIVE_WAIT_TIMEOUT_MS, 60 s: default_wait.ts says why; pass
   * Infinity to wait as long as it takes); EIO etc. if it failed.
   */
  wait(timeoutMs: number = defaultWaitMs()): void {
    waitFence(this.pool, this.id, deadlineAfter(timeoutMs), timeoutMs);
  }
}

/** Wakes threads asleep on a fence's word; free when nobody sleeps (the common case). */
export function wakeFenceWaiters(pool: Pool, slot: number): void {
  const { fences } = tables(pool);
  if (fences.get(slot, FenceField.WAITERS) > 0) Atomics.notify(pool.ctl, fences.addr(slot, FenceField.WORD));
}

/** Deadline: the caller's (its timeoutMs, by default COLLECTIVE_WAIT_TIMEOUT_MS; a collective's, its call's). */
export function waitFence(pool: Pool, id: FenceId, deadline: number, timeoutMs: number): void {
  const { fences } = tables(pool);
  const addr = fences.addr(id.slot, FenceField.WORD);
  if (!waitWhileEqual(pool.ctl, addr, id.word, deadline, fences.addr(id.slot, FenceField.WAITERS))) {
    throw new TransportError(
      'ETIMEDOUT',
      `fence ${id.slot} not signalled within ${timeoutMs} ms; it is signalled by whoever created it (signal() or signalError(); a collective's fence when its call ends): signal it, or ${LONGER_WAIT_HINT}`,
    );
  }
  const word = Atomics.load(pool.ctl, addr);
  if (word === ((id.word & ~3) | FenceState.FAILED)) {
    const code = ERRNO_CODES[fences.get(id.slot, FenceField.ERRNO) - 1] ?? 'EIO';
    throw new TransportError(code, `fence ${id.slot} completed with an error`);
  }
}

export function isFencePending(pool: Pool, slot: number, word: number): boolean {
  return Atomics.load(pool.ctl, tables(pool).fences.addr(slot, FenceField.WORD)) === word;
}
