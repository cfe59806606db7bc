import { fail } from './errors.js';
import { PAGE_SIZE, RESERVED_BYTES, WASM_PAGE_SIZE } from './constants.js';
import { withLock } from './shared_lock.js';
import { isThreadDeadIn, markThreadDeadIn, SELF, type WatchedThread, watchNewWorkers, watchWorkerIn } from './thread_liveness.js';
import { type Capacities, computeLayout, DEFAULT_CAPACITIES, Header, type Layout, MAGIC } from './control_layout.js';

export interface PoolOptions {
  /** bytes of device memory shared by every device of the process */
  bytes?: number;
  capacities?: Partial<Capacities>;
}

/** What crosses a postMessage so another worker can attach to the same pool. */
export interface PoolDescriptor {
  kind: 'collective-pool';
  memory: WebAssembly.Memory;
  control: SharedArrayBuffer;
}

const DEFAULT_BYTES = 256 * 1024 * 1024;
const MAX_BYTES = 2 * 1024 * 1024 * 1024;

function checkCount(name: string, v: number): void {
  if (!Number.isSafeInteger(v) || v <= 0) fail('EINVAL', `options.capacities.${name} must be a positive integer (got ${v})`);
}

/**
 * One shared WebAssembly.Memory per process: every device's memory is a
 * page range inside it, so WASM kernels and the shm provider work on
 * device memory directly, never on copies.
 */
export class Pool {
  readonly memory: WebAssembly.Memory;
  readonly control: SharedArrayBuffer;
  readonly ctl: Int32Array;
  readonly layout: Layout;
  readonly id: number;
  /**
   * 32 hex digits naming this pool, the same in every thread that attaches
   * it and different from every other process's: ranks with equal
   * identities are in one process and reach each other through shm.
   */
  readonly identity: string;

  private constructor(memory: WebAssembly.Memory, control: SharedArrayBuffer) {
    this.memory = memory;
    this.control = control;
    this.ctl = new Int32Array(control);
    if (this.ctl[Header.MAGIC] !== MAGIC) fail('EINVAL', 'descriptor is not a collective pool (bad magic)');
    const caps: Capacities = {
      devices: this.ctl[Header.CAP_DEVICES]!,
      buffers: this.ctl[Header.CAP_BUFFERS]!,
      exports: this.ctl[Header.CAP_EXPORTS]!,
      attachments: this.ctl[Header.CAP_ATTACHMENTS]!,
      fences: this.ctl[Header.CAP_FENCES]!,
      fencesPerBuffer: this.ctl[Header.CAP_FENCES_PER_BUFFER]!,
      mrs: this.ctl[Header.CAP_MRS]!,
      endpoints: this.ctl[Header.CAP_ENDPOINTS]!,
    };
    this.layout = computeLayout(this.ctl[Header.PAGE_COUNT]!, caps);
    this.id = this.ctl[Header.POOL_ID]!;
    this.identity = Array.from(this.ctl.subarray(Header.POOL_IDENTITY, Header.POOL_IDENTITY + Header.POOL_IDENTITY_WORDS), (w) => (w >>> 0).toString(16).padStart(8, '0')).join('');
    watchNewWorkers(this.ctl);
  }

  static create(options: PoolOptions = {}): Pool {
    const bytes = options.bytes ?? DEFAULT_BYTES;
    if (!Number.isSafeInteger(bytes) || bytes <= RESERVED_BYTES || bytes % WASM_PAGE_SIZE !== 0 || bytes > MAX_BYTES) {
      fail('EINVAL', `options.bytes must be a multiple of ${WASM_PAGE_SIZE} between ${2 * WASM_PAGE_SIZE} and ${MAX_BYTES} (got ${bytes})`);
    }
    const caps: Capacities = { ...DEFAULT_CAPACITIES, ...options.capacities };
    for (const [k, v] of Object.entries(caps)) checkCount(k, v);
    const pages = bytes / PAGE_SIZE;
    const layout = computeLayout(pages, caps);
    const wasmPages = bytes / WASM_PAGE_SIZE;
    const memory = new WebAssembly.Memory({ initial: wasmPages, maximum: wasmPages, shared: true });
    const control = new SharedArrayBuffer(layout.totalWords * 4);
    const ctl = new Int32Array(control);
    ctl[Header.MAGIC] = MAGIC;
    // Pool ids tell handles of one pool from another's; collisions only
    // weaken the foreign-handle check, never break correctness.
    ctl[Header.POOL_ID] = (Math.random() * 0x7fffffff) | 1;
    // Whether two ranks share memory is decided by this, across every
    // process of a job: 128 bits from the platform's CSPRNG cannot collide
    // the way a 31-bit id could (1 in 2000 for 1024 processes).
    // Drawn into a private array: browsers refuse a view of shared memory.
    ctl.set(crypto.getRandomValues(new Int32Array(Header.POOL_IDENTITY_WORDS)), Header.POOL_IDENTITY);
    ctl[Header.PAGE_COUNT] = pages;
    ctl[Header.CAP_DEVICES] = caps.devices;
    ctl[Header.CAP_BUFFERS] = caps.buffers;
    ctl[Header.CAP_EXPORTS] = caps.exports;
    ctl[Header.CAP_ATTACHMENTS] = caps.attachments;
    ctl[Header.CAP_FENCES] = caps.fences;
    ctl[Header.CAP_FENCES_PER_BUFFER] = caps.fencesPerBuffer;
    ctl[Header.CAP_MRS] = caps.mrs;
    ctl[Header.CAP_ENDPOINTS] = caps.endpoints;
    return new Pool(memory, control);
  }

  static attach(descriptor: PoolDescriptor): Pool {
    if (!descriptor || descriptor.kind !== 'collective-pool' || !(descriptor.control instanceof SharedArrayBuffer)) {
      fail('EINVAL', 'Pool.attach needs the descriptor returned by pool.describe()');
    }
    return new Pool(descriptor.memory, descriptor.control);
  }

  describe(): PoolDescriptor {
    return { kind: 'collective-pool', memory: this.memory, control: this.control };
  }

  get bytes(): number {
    return this.memory.buffer.byteLength;
  }

  /** A fresh byte view; the memory never grows, so views stay valid. */
  u8(offset: number, length: number): Uint8Array {
    return new Uint8Array(this.memory.buffer, offset, length);
  }

  /** @internal runs `fn` under the pool lock */
  locked<T>(fn: () => T): T {
    return withLock(this.ctl, fn);
  }

  /**
   * Tells the pool about a worker thread that uses it: when the worker
   * exits, however it exits (terminate(), a crash, process.exit()), the
   * pool learns it is dead, so a lock it held is handed back and peers
   * waiting on it stop waiting.
   */
  watch(worker: WatchedThread): void {
    watchWorkerIn(this.ctl, worker);
  }

  /** @internal marks a thread (id + 1, as in owner words) dead */
  markThreadDead(owner: number): void {
    markThreadDeadIn(this.ctl, owner);
  }

  /** @internal whether the thread with this owner word (id + 1) is known to be dead */
  isThreadDead(owner: number): boolean {
    return isThreadDeadIn(this.ctl, owner);
  }

  /** This thread's owner word (thread id + 1). */
  static get self(): number {
    return SELF;
  }

  /** How many times the lock was recovered from a dead holder. */
  get lockRecoveries(): number {
    return Atomics.load(this.ctl, Header.LOCK_RECOVERIES);
  }

  /** @internal bumped on every free and exporter release; caches compare it to know when to sweep */
  get freeGeneration(): number {
    return Atomics.load(this.ctl, Header.FREE_GEN);
  }

  /** @internal index of that counter in ctl, for hot paths that read it plainly */
  get freeGenerationIndex(): number {
    return Header.FREE_GEN;
  }

  /** Process-unique non-zero token, used to tell owners apart. */
  nextToken(): number {
    return (Atomics.add(this.ctl, Header.TOKEN_COUNTER, 1) + 1) | 0 || this.nextToken();
  }
}
