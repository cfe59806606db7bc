import type { Device, DeviceBuffer } from '@collective/transport';
import type { PeerRecord } from './comm_base/peer_record.js';
import type { CollectiveOptions } from './collective_options.js';
import type { DeviceArray } from './device_array.js';

/** How a communicator's ranks sit in processes, when every process holds the same number of consecutive ranks. */
export interface ProcessLayout {
  processes: number;
  perProcess: number;
}

/**
 * The layout a hierarchical call needs: several processes, more than one
 * rank in each, the same count everywhere and numbered process by process
 * (World.join's order). Anything else runs flat.
 */
export function processLayout(directory: readonly PeerRecord[] | undefined): ProcessLayout | undefined {
  if (!directory) return undefined;
  const seen = new Set<string>();
  const counts: number[] = [];
  let last: string | undefined;
  // Equal pool identities are one process, as setup decides between shm and net.
  for (const r of directory) {
    const key = r.process;
    if (key !== last) {
      if (seen.has(key)) return undefined;
      seen.add(key);
      counts.push(0);
      last = key;
    }
    counts[counts.length - 1]!++;
  }
  const per = counts[0]!;
  if (counts.length < 2 || per < 2 || counts.some((c) => c !== per)) return undefined;
  return { processes: counts.length, perProcess: per };
}

/** What a hierarchical call does with each of its children: collectives on a communicator of its own. */
export interface ChildComm {
  readonly rank: number;
  readonly size: number;
  allReduce(send: DeviceArray, recv: DeviceArray, opts?: CollectiveOptions): void;
  reduceScatter(send: DeviceArray, recv: DeviceArray, opts?: CollectiveOptions): void;
  allGather(send: DeviceArray, recv: DeviceArray, opts?: CollectiveOptions): void;
  reduce(send: DeviceArray, recv: DeviceArray, opts?: CollectiveOptions): void;
  broadcast(send: DeviceArray, recv: DeviceArray, opts?: CollectiveOptions): void;
}

/**
 * The two children of a hierarchical call: `local`, the ranks of this
 * process (shm), and `cross`, the ranks of every process at this rank's
 * local index (tcp). Local rank = rank % perProcess, cross rank = process.
 */
export interface Hierarchy<C extends ChildComm = ChildComm> {
  readonly layout: ProcessLayout;
  readonly local: C;
  readonly cross: C;
  /** device memory for the reordering steps, kept between calls (the children's registration caches keep it registered) */
  readonly scratch: HierScratch;
}

type ArrayCtor = new (buffer: ArrayBufferLike, byteOffset: number, length: number) => DeviceArray;

/** One device buffer, grown on demand, that hierarchical calls cut into typed views. */
export class HierScratch {
  #buf: DeviceBuffer | undefined;

  constructor(private readonly device: Device) {}

  /** Views of `counts[i]` elements of `like`'s type, one after another; valid until the next call. */
  views(like: DeviceArray, counts: readonly number[]): DeviceArray[] {
    const eb = like.BYTES_PER_ELEMENT;
    const bytes = counts.reduce((a, n) => a + Math.ceil((n * eb) / 64) * 64, 0);
    if (!this.#buf || this.#buf.size < bytes) {
      this.release();
      // Grown by doubling, so a training loop's calls settle on one buffer.
      this.#buf = this.device.allocate(Math.max(65536, 2 ** Math.ceil(Math.log2(Math.max(bytes, 1)))));
    }
    const memory = this.device.pool.memory.buffer;
    const Ctor = like.constructor as ArrayCtor;
    let at = this.#buf.offset;
    return counts.map((n) => {
      const v = new Ctor(memory, at, n);
      at += Math.ceil((n * eb) / 64) * 64;
      return v;
    });
  }

  release(): void {
    if (this.#buf) this.device.free(this.#buf);
    this.#buf = undefined;
  }
}

/**
 * A child call's option, not part of the public options: avg divides by
 * this many ranks instead of the child communicator's size. Hierarchical
 * avg sums in every step but the last, which divides by the parent's size
 * once: dividing in each step rounds twice and, for integers, is off by one
 * (the sum of quotients is not the quotient of the sum).
 */
export const AVG_OVER = Symbol('collective.avgOver');
export type ChildOptions = CollectiveOptions & { [AVG_OVER]?: number };

/** Below this, or when the count does not split evenly over a process's ranks, all-reduce goes through each process's first rank. */
export const HIER_CHUNKED_MIN_BYTES = 32 * 1024;

/** Options of a child step; `avgOver` > 0 marks the last reducing step of an avg (it divides), other reducing steps of an avg sum. */
function childOptions(opts: CollectiveOptions, withOp: boolean, avgOver = 0): ChildOptions {
  const o: ChildOptions = {};
  if (withOp && opts.op !== undefined) {
    o.op = opts.op === 'avg' && avgOver === 0 ? 'sum' : opts.op;
    if (opts.op === 'avg') o[AVG_OVER] = avgOver;
  }
  if (opts.dtype !== undefined) o.dtype = opts.dtype;
  if (opts.timeoutMs !== undefined) o.timeoutMs = opts.timeoutMs;
  return o;
}

/**
 * All-reduce in three steps (NCCL's and Horovod's hierarchical scheme):
 * reduce-scatter inside the process, all-reduce of each rank's block with
 * the same block of the other processes, all-gather inside the process.
 * Only 1/perProcess of the data crosses processes per rank, and every
 * process link is busy at once. Small or unevenly split inputs: reduce to
 * the process's first rank, all-reduce between those, broadcast back.
 * avg sums inside the process and divides once, by the world size, in the
 * step across processes: the same quotient as a flat call.
 */
export function hierAllReduce(h: Hierarchy, send: DeviceArray, recv: DeviceArray, opts: CollectiveOptions): void {
  const { local, cross } = h;
  const reducing = childOptions(opts, true);
  const last = childOptions(opts, true, local.size * cross.size);
  const moving = childOptions(opts, false);
  const per = local.size;
  if (send.length % per === 0 && send.byteLength >= HIER_CHUNKED_MIN_BYTES) {
    const n = send.length / per;
    // This rank's block of recv: in place for reduce-scatter when send is recv, and for all-gather always.
    const mine = recv.subarray(local.rank * n, (local.rank + 1) * n) as DeviceArray;
    local.reduceScatter(send, mine, reducing);
    cross.allReduce(mine, mine, last);
    local.allGather(mine, recv, moving);
    return;
  }
  local.reduce(send, recv, { ...reducing, root: 0 });
  if (local.rank === 0) cross.allReduce(recv, recv, last);
  local.broadcast(recv, recv, { ...moving, root: 0 });
}

/** Broadcast across processes first, between the root and its counterparts, then inside every process. */
export function hierBroadcast(h: Hierarchy, send: DeviceArray, recv: DeviceArray, opts: CollectiveOptions): void {
  const root = opts.root ?? 0;
  const per = h.layout.perProcess;
  const moving = childOptions(opts, false);
  const rootProcess = Math.floor(root / per);
  const rootLocal = root % per;
  if (h.local.rank === rootLocal) h.cross.broadcast(send, recv, { ...moving, root: rootProcess });
  h.local.broadcast(recv, recv, { ...moving, root: rootLocal });
}

/**
 * All-gather: every rank gathers its counterparts' inputs across processes
 * (one block per process), the ranks of a process exchange those, and
 * each rank puts the blocks in global rank order (rank = process ×
 * perProcess + local rank). Each input crosses each process boundary once.
 */
export function hierAllGather(h: Hierarchy, send: DeviceArray, recv: DeviceArray, opts: CollectiveOptions): void {
  const { local, cross } = h;
  const moving = childOptions(opts, false);
  const c = send.length;
  const P = cross.size;
  const L = local.size;
  const [mine, all] = h.scratch.views(send, [P * c, L * P * c]);
  cross.allGather(send, mine!, moving);
  local.allGather(mine!, all!, moving);
  // all holds [local rank][process]; recv wants [process][local rank].
  const r = recv as unknown as { set(a: DeviceArray, at: number): void };
  const a = all as unknown as { subarray(b: number, e: number): DeviceArray };
  for (let l = 0; l < L; l++) for (let p = 0; p < P; p++) r.set(a.subarray((l * P + p) * c, (l * P + p + 1) * c), (p * L + l) * c);
}

/**
 * Reduce-scatter: each rank reorders its input so that the blocks bound
 * for one local rank of every process lie together, reduce-scatters that
 * inside the process (sum over the process's ranks), then reduce-scatters
 * the result across processes; avg divides once, in the last step.
 */
export function hierReduceScatter(h: Hierarchy, send: DeviceArray, recv: DeviceArray, opts: CollectiveOptions): void {
  const { local, cross } = h;
  const reducing = childOptions(opts, true);
  const last = childOptions(opts, true, local.size * cross.size);
  const c = recv.length;
  const P = cross.size;
  const L = local.size;
  const [byLocal, partial] = h.scratch.views(send, [L * P * c, P * c]);
  const t = byLocal as unknown as { set(a: DeviceArray, at: number): void };
  const s = send as unknown as { subarray(b: number, e: number): DeviceArray };
  for (let p = 0; p < P; p++) for (let l = 0; l < L; l++) t.set(s.subarray((p * L + l) * c, (p * L + l + 1) * c), (l * P + p) * c);
  local.reduceScatter(byLocal!, partial!, reducing);
  cross.reduceScatter(partial!, recv, last);
}
