/**
 * Fixed-size Int32 records in the pool's control block. Field 0 of every
 * record is its state (0 = free) and field 1 its generation, so a slot
 * number plus the generation it was issued at names one object for life:
 * a reused slot never answers for a stale handle.
 */
export class RecordTable {
  constructor(
    readonly ctl: Int32Array,
    readonly base: number,
    readonly recordSize: number,
    readonly capacity: number,
    readonly what: string,
  ) {}

  addr(slot: number, field: number): number {
    return this.base + slot * this.recordSize + field;
  }

  get(slot: number, field: number): number {
    return Atomics.load(this.ctl, this.addr(slot, field));
  }

  set(slot: number, field: number, value: number): void {
    Atomics.store(this.ctl, this.addr(slot, field), value);
  }

  /** Adds and returns the new value. */
  add(slot: number, field: number, delta: number): number {
    return Atomics.add(this.ctl, this.addr(slot, field), delta) + delta;
  }

  isLive(slot: number, gen: number): boolean {
    return slot >= 0 && slot < this.capacity && this.get(slot, 0) !== 0 && this.get(slot, 1) === gen;
  }

  /**
   * Claims a free slot (pool lock held): clears it, bumps its generation.
   * `reusable` widens "free" for tables that keep closed records readable;
   * it sees the slot before it is cleared (the slot it accepts is claimed).
   * `keep`: a field left as it is (-1: none).
   */
  claimLocked(state: number, reusable: (state: number, slot: number) => boolean = (s) => s === 0, keep = -1): { slot: number; gen: number } | undefined {
    for (let slot = 0; slot < this.capacity; slot++) {
      if (reusable(this.get(slot, 0), slot)) {
        const gen = (this.get(slot, 1) + 1) & 0x3fffffff;
        if (keep < 0) this.ctl.fill(0, this.addr(slot, 0), this.addr(slot, this.recordSize));
        else {
          // One word survives: a counter other threads change without the lock (an in-flight guard).
          this.ctl.fill(0, this.addr(slot, 0), this.addr(slot, keep));
          this.ctl.fill(0, this.addr(slot, keep + 1), this.addr(slot, this.recordSize));
        }
        this.set(slot, 1, gen);
        this.set(slot, 0, state);
        return { slot, gen };
      }
    }
    return undefined;
  }

  /** Frees a slot (pool lock held); the generation survives so stale handles stay stale. */
  freeLocked(slot: number): void {
    this.set(slot, 0, 0);
  }

  *liveSlots(): Generator<number> {
    for (let slot = 0; slot < this.capacity; slot++) if (this.get(slot, 0) !== 0) yield slot;
  }
}
