import { type Device, type DmaBuf, type MemoryRegion, type Pool, TransportError, Usage, usageFor } from '@collective/transport';
import { bufferProbe, bufferSlotOfRange, ReusableFence } from '@collective/transport/runtime';
import { CollectiveError } from '../comm_errors.js';
import type { Registrar } from './registrar.js';

/** A registered buffer went bad between calls: the call that meets it must fail on every rank. */
export class RegistrationGone extends CollectiveError {
  constructor(message: string) {
    super('EIO', message);
    this.name = 'RegistrationGone';
  }
}

/**
 * One user buffer made reachable by peers (ncclCommRegister): the whole
 * device buffer is exported, attached dynamically and pinned (so it cannot
 * move while registered) and, for net peers, registered as a memory
 * region. Peers get only what the descriptor of each call names: the
 * export handle, the MR key and an offset.
 */
export class Registration {
  private readFence?: ReusableFence;
  private writeFence?: ReusableFence;
  private released = false;
  private readonly ctl: Int32Array;
  private readonly freedAt: number;
  private readonly revokedAt: number;

  constructor(
    readonly pool: Pool,
    readonly slot: number,
    readonly gen: number,
    readonly base: number,
    readonly bytes: number,
    readonly dmabuf: DmaBuf,
    readonly mr: MemoryRegion | undefined,
    readonly explicit: boolean,
  ) {
    this.ctl = pool.ctl;
    this.freedAt = bufferProbe.wordIndex(pool, slot, 'ownerFreed');
    this.revokedAt = bufferProbe.wordIndex(pool, slot, 'revoked');
  }

  /**
   * Why the buffer can no longer be used, or undefined while it is fine.
   * Atomic loads: with streams the communicator runs on the stream thread
   * while the owner's device thread frees and revokes.
   */
  badness(): string | undefined {
    if (Atomics.load(this.ctl, this.freedAt) !== 0) return 'was freed while registered; register a live buffer';
    if (Atomics.load(this.ctl, this.revokedAt) !== 0) return 'was revoked by its owner; collectives refuse revoked memory';
    return undefined;
  }

  get isReleased(): boolean {
    return this.released;
  }

  /**
   * Honours the buffer's fences for an access and publishes this call's own
   * (dma-resv implicit sync): a read waits for writers, a write for readers
   * and writers.
   */
  begin(access: 'read' | 'write', timeoutMs: number): void {
    const fence = access === 'read' ? (this.readFence ??= ReusableFence.claim(this.pool, this.slot, this.gen, Usage.READ)) : (this.writeFence ??= ReusableFence.claim(this.pool, this.slot, this.gen, Usage.WRITE));
    fence.begin(usageFor(access), timeoutMs);
  }

  /** Signals the fence of an access begun: success, or the error waiters must see. */
  end(access: 'read' | 'write', error?: TransportError): void {
    const fence = access === 'read' ? this.readFence : this.writeFence;
    if (!fence?.isArmed) return;
    if (error) fence.fail(error.code === 'ETIMEDOUT' || error.code === 'ECANCELED' ? error.code : 'EIO');
    else fence.end();
  }

  release(registrar: Registrar | undefined): void {
    if (this.released) return;
    this.released = true;
    this.readFence?.release();
    this.writeFence?.release();
    if (this.mr && registrar) registrar.deregister(this.mr);
    // Releasing the exporter's reference detaches its pinned attachment too.
    this.dmabuf.release();
  }
}

const TOMBSTONES = 64;

/**
 * A rank's registrations on one communicator, by buffer: made on first use
 * (or by register()), checked on every use, and dropped when the owner
 * frees or revokes the buffer. A buffer that went bad while registered
 * fails the next call that names it, on every rank.
 */
export class Registrations {
  private readonly bySlot = new Map<number, Registration>();
  /** freed or revoked registrations swept before any call named them again: [base, bytes, reason] */
  private readonly tombstones: [number, number, string][] = [];
  /** the last few views resolved and their registrations: a loop passes the same views every call */
  private readonly recentViews: (ArrayBufferView | undefined)[] = [undefined, undefined, undefined, undefined];
  private readonly recentRegs: (Registration | undefined)[] = [undefined, undefined, undefined, undefined];
  private recentNext = 0;
  private seenFreeGen: number;

  constructor(
    private readonly pool: Pool,
    private readonly device: Device,
    private readonly registrar: () => Registrar | undefined,
    private readonly onDrop: () => void,
  ) {
    this.seenFreeGen = pool.freeGeneration;
  }

  /** The registration covering `view`, registering its buffer on first use. */
  resolve(view: ArrayBufferView, off: number, len: number, what: string, explicit = false): Registration {
    // A view resolved recently (a loop over the same buffers) skips the page-table lookup.
    const i = this.recentViews.indexOf(view);
    let reg = i >= 0 ? this.recentRegs[i] : undefined;
    if (!reg || reg.isReleased) {
      const slot = bufferSlotOfRange(this.pool, off, len, true);
      reg = slot >= 0 ? this.bySlot.get(slot) : undefined;
      if (reg && reg.gen !== bufferProbe.gen(this.pool, slot)) reg = undefined;
    }
    if (reg) {
      const bad = reg.badness();
      if (bad) {
        this.drop(reg);
        throw new RegistrationGone(`${what} (${len} bytes at offset ${off - reg.base} of a ${reg.bytes}-byte buffer of device ${this.device.index}) ${bad}`);
      }
      if (i < 0) {
        this.recentViews[this.recentNext] = view;
        this.recentRegs[this.recentNext] = reg;
        this.recentNext = (this.recentNext + 1) & 3;
      }
      return reg;
    }
    const slot = bufferSlotOfRange(this.pool, off, len, true);
    if (slot < 0 || bufferProbe.ownerFreed(this.pool, slot) || bufferProbe.device(this.pool, slot) !== this.device.index) {
      const dead = this.tombstones.find(([b, n]) => off >= b && off + len <= b + n);
      if (dead) throw new RegistrationGone(`${what} (${len} bytes of a ${dead[1]}-byte buffer of device ${this.device.index}) ${dead[2]}`);
      throw new CollectiveError('EINVAL', `${what} is not inside one live buffer of device ${this.device.index}; allocate it on this rank's device`);
    }
    if (bufferProbe.revoked(this.pool, slot)) {
      throw new RegistrationGone(`${what} (${len} bytes of a buffer of device ${this.device.index}) was revoked by its owner; collectives refuse revoked memory`);
    }
    return this.create(view, explicit);
  }

  private create(view: ArrayBufferView, explicit: boolean): Registration {
    const buf = this.device.bufferOf(view);
    const dmabuf = this.device.export(buf);
    let mr: MemoryRegion | undefined;
    try {
      // Pinned for the registration's life: the exporter cannot move it under a peer.
      dmabuf.attach({ dynamic: true, invalidateMappings: () => {} }).pin();
      mr = this.registrar()?.register(dmabuf);
    } catch (e) {
      dmabuf.release();
      throw e;
    }
    const reg = new Registration(this.pool, buf.slot, buf.gen, buf.offset, buf.size, dmabuf, mr, explicit);
    this.bySlot.set(buf.slot, reg);
    return reg;
  }

  /** Explicit registration (ncclCommRegister); later calls on the buffer reuse it. */
  register(view: ArrayBufferView): Registration {
    const reg = this.resolve(view, view.byteOffset, view.byteLength, 'buffer', true);
    return reg;
  }

  deregister(reg: Registration): void {
    if (this.bySlot.get(reg.slot) !== reg) throw new CollectiveError('EINVAL', 'registration is not live on this communicator (deregistered already, or from another one)');
    this.drop(reg);
  }

  private drop(reg: Registration, reason?: string): void {
    this.bySlot.delete(reg.slot);
    for (let i = 0; i < this.recentRegs.length; i++) if (this.recentRegs[i] === reg) this.recentViews[i] = this.recentRegs[i] = undefined;
    if (reason) {
      this.tombstones.push([reg.base, reg.bytes, reason]);
      if (this.tombstones.length > TOMBSTONES) this.tombstones.shift();
    }
    reg.release(this.registrar());
    this.onDrop();
  }

  /**
   * After a free or revoke anywhere in the pool: drops registrations whose
   * buffer went bad, so their pages can be reused (peers let go of their
   * imports at their own next sweep). A later call naming one still fails.
   */
  sweep(force = false): void {
    const gen = this.pool.freeGeneration;
    if (!force && gen === this.seenFreeGen) return;
    this.seenFreeGen = gen;
    for (const reg of [...this.bySlot.values()]) {
      const bad = reg.badness();
      if (bad) this.drop(reg, bad);
    }
  }

  get size(): number {
    return this.bySlot.size;
  }

  closeAll(): void {
    for (const reg of [...this.bySlot.values()]) this.drop(reg);
  }
}
