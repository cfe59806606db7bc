import {
  allocateHost,
  type Attachment,
  type Device,
  type DeviceBuffer,
  deviceOfRange,
  DmaBuf,
  freeHost,
  type Mapping,
  type Pool,
  TransportError,
} from '@collective/transport';
import { type AlgoComm, type Algorithm, ALGO_CODE, type Call } from './algorithm.js';
import { CollectiveError } from './comm_errors.js';
import { blockWords, COMM_MAGIC, D, Hdr, MAX_RANKS, R, rankBase } from './comm_layout.js';
import { type CollectiveKind, KIND } from './collective_kind.js';
import { type DeviceArray, dtypeOf, poolOffset } from './device_array.js';
import { checkDtype, DTYPE_BYTES, DTYPE_CODE, type Dtype } from './dtypes.js';
import { defaultFlavor, type KernelFlavor, ReduceKernels } from './kernels/reduce_kernels.js';
import { checkOp, OP_CODE, type ReduceOp } from './ops.js';
import { fenceBuffers } from './buffer_fences.js';
import { CHECKED, describeMismatch } from './call_descriptor.js';
import { type P2pSide, PointToPoint } from './point_to_point.js';
import { type CallClock, RankSync } from './rank_sync.js';
import { ALGO_ENV, chooseAlgorithm } from './tuner.js';

/** What ncclGetUniqueId returns: enough for every rank to find the same control block. */
export interface CommId {
  kind: 'comm-id';
  pool: number;
  offset: number;
  nranks: number;
  token: number;
}

export interface CommOptions {
  /** default deadline of every call, ms */
  timeoutMs?: number;
  /** bytes of each of the two scratch slots per rank */
  slotBytes?: number;
  kernels?: KernelFlavor;
}

export interface CollectiveOptions {
  op?: ReduceOp;
  /** needed only to call a Uint16Array bfloat16 */
  dtype?: Dtype;
  root?: number;
  /** force an algorithm; also COLLECTIVE_ALGO */
  algo?: string;
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_SLOT_BYTES = 1 << 20;
const ARGS_BYTES = 4096;
const SMALL_COPY_BYTES = 64;

function checkPositiveInt(name: string, v: number): void {
  if (!Number.isSafeInteger(v) || v <= 0) throw new TransportError('EINVAL', `${name} must be a positive integer (got ${v})`);
}

interface PeerScratch {
  offset: number;
  dmabuf?: DmaBuf;
  attachment?: Attachment;
  mapping?: Mapping;
}

const localCopy: Algorithm = {
  name: 'direct',
  run(c, call) {
    const reducing = call.kind === 'allReduce' || call.kind === 'reduce' || call.kind === 'reduceScatter';
    if (reducing) c.kernels.reduce(call.op, call.dtype, call.recv, [call.send], call.count);
    else c.copy(call.recv, call.send, call.count * call.elemBytes);
  },
};

/**
 * A group of ranks, one per device, that run collectives together
 * (ncclComm_t). Every call is synchronous in the calling device thread,
 * has a deadline, and checks that all ranks called the same thing.
 */
export class Communicator implements AlgoComm {
  readonly size: number;
  readonly mem: Uint8Array;
  readonly kernels: ReduceKernels;
  readonly slotBytes: number;
  private readonly words: Int32Array;
  private readonly sync: RankSync;
  private readonly peers: PeerScratch[] = [];
  private readonly scratchBuf: DeviceBuffer;
  private readonly scratchExport: DmaBuf;
  private readonly timeoutMs: number;
  private seq = 0;
  private arrivals = 0;
  private centralRounds = 0;
  private stepBase = 0;
  private pieces = 0;
  private readonly clock: CallClock = { timeoutMs: 0, start: 0 };
  private currentKind = 'init';
  private waitPeer = 0;
  private waitWhat = '';
  private readonly late = (ms: number) => `${this.callName()}: rank ${this.waitPeer} ${this.waitWhat} within ${ms} ms`;
  /** COLLECTIVE_ALGO, read once: process.env is slow on a hot path */
  private readonly envAlgo = process.env[ALGO_ENV];
  private readonly srcs: number[] = [];
  private readonly call: Call = { kind: 'barrier', count: 0, dtype: 'uint8', elemBytes: 1, op: 'sum', root: 0, send: 0, recv: 0, seq: 0, staged: -1 };
  private readonly p2p: PointToPoint;
  private error: Error | undefined;
  private destroyed = false;
  divisor = 1;

  private constructor(
    readonly pool: Pool,
    readonly device: Device,
    readonly id: CommId,
    readonly rank: number,
    options: CommOptions,
  ) {
    this.size = id.nranks;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.slotBytes = options.slotBytes ?? DEFAULT_SLOT_BYTES;
    this.mem = new Uint8Array(pool.memory.buffer);
    this.words = new Int32Array(pool.memory.buffer, id.offset, blockWords(id.nranks));
    this.sync = new RankSync(this.words, this.size);
    this.p2p = new PointToPoint({
      rank,
      size: this.size,
      words: this.words,
      sync: this.sync,
      resolve: (what, a, dtype) => this.resolve(what, a, dtype),
      wait: (index, target, peer, what) => this.wait(index, target, peer, what),
      copy: (dst, src, bytes) => this.copy(dst, src, bytes),
    });

    const w = this.words;
    const me = rankBase(rank);
    if (Atomics.compareExchange(w, me + R.DEVICE, 0, device.index + 1) !== 0) {
      throw new CollectiveError('EBUSY', `rank ${rank} has already joined this communicator`);
    }
    Atomics.add(w, Hdr.JOINED, 1);
    try {
      // Registered scratch: exported as a dma-buf, imported by every peer.
      this.scratchBuf = device.allocate(Math.ceil((ARGS_BYTES + 2 * this.slotBytes) / 4096) * 4096);
      this.scratchExport = device.export(this.scratchBuf);
      const h = this.scratchExport.handle;
      w[me + R.SCRATCH_SLOT] = h.slot;
      w[me + R.SCRATCH_GEN] = h.gen;
      this.sync.post(me + R.SCRATCH_SIZE, h.size);
      this.kernels = new ReduceKernels(pool, options.kernels ?? defaultFlavor(), this.scratchBuf.offset);

      this.clock.timeoutMs = this.timeoutMs;
      for (let q = 0; q < this.size; q++) {
        if (q === rank) {
          this.peers.push({ offset: this.scratchBuf.offset });
          continue;
        }
        this.wait(rankBase(q) + R.SCRATCH_SIZE, 1, q, 'did not join');
        const b = rankBase(q);
        const dmabuf = DmaBuf.import(pool, { kind: 'dmabuf', pool: pool.id, slot: w[b + R.SCRATCH_SLOT]!, gen: w[b + R.SCRATCH_GEN]!, size: w[b + R.SCRATCH_SIZE]! });
        const attachment = dmabuf.attach();
        const mapping = attachment.map();
        this.peers.push({ offset: mapping.segments[0]!.offset, dmabuf, attachment, mapping });
      }
      this.arriveAll();
    } catch (e) {
      // Peers waiting for this rank fail now, not at their deadline.
      Atomics.compareExchange(w, Hdr.ABORTED, 0, rank + 1);
      throw e;
    }
  }

  /** ncclGetUniqueId: a control block in the pool's host memory for `nranks` ranks. */
  static createId(pool: Pool, nranks: number): CommId {
    checkPositiveInt('nranks', nranks);
    if (nranks > MAX_RANKS) throw new TransportError('EINVAL', `nranks must be at most ${MAX_RANKS} (got ${nranks})`);
    const bytes = blockWords(nranks) * 4;
    const offset = allocateHost(pool, bytes);
    const w = new Int32Array(pool.memory.buffer, offset, blockWords(nranks));
    const token = pool.nextToken();
    w[Hdr.NRANKS] = nranks;
    w[Hdr.TOKEN] = token;
    w[Hdr.BYTES] = bytes;
    Atomics.store(w, Hdr.MAGIC, COMM_MAGIC);
    return { kind: 'comm-id', pool: pool.id, offset, nranks, token };
  }

  /** ncclCommInitRank: blocks until every rank has joined (or the timeout passes). */
  static init(device: Device, id: CommId, rank: number, options: CommOptions = {}): Communicator {
    const pool = device.pool;
    if (!id || id.kind !== 'comm-id') throw new TransportError('EINVAL', 'id must come from Communicator.createId()');
    if (id.pool !== pool.id) throw new TransportError('EINVAL', 'id belongs to another pool');
    const w = new Int32Array(pool.memory.buffer, id.offset, 16);
    if (w[Hdr.MAGIC] !== COMM_MAGIC || w[Hdr.TOKEN] !== id.token || w[Hdr.NRANKS] !== id.nranks) {
      throw new TransportError('EINVAL', 'id does not name a live communicator (destroyed, or not from createId)');
    }
    if (!Number.isInteger(rank) || rank < 0 || rank >= id.nranks) {
      throw new TransportError('EINVAL', `rank must be an integer in [0, ${id.nranks}) (got ${rank})`);
    }
    if (options.timeoutMs !== undefined) checkPositiveInt('options.timeoutMs', options.timeoutMs);
    if (options.slotBytes !== undefined) {
      checkPositiveInt('options.slotBytes', options.slotBytes);
      if (options.slotBytes % 64 !== 0) throw new TransportError('EINVAL', `options.slotBytes must be a multiple of 64 (got ${options.slotBytes})`);
    }
    return new Communicator(pool, device, id, rank, options);
  }

  // ---- AlgoComm -------------------------------------------------------------

  scratch(q: number, parity: number): number {
    return this.peers[q]!.offset + ARGS_BYTES + parity * this.slotBytes;
  }

  private desc(q: number, field: D): number {
    return this.words[rankBase(q) + R.DESC + (this.seq & 1) * R.DESC_WORDS + field]!;
  }

  peerSend(q: number): number {
    return this.desc(q, D.SEND);
  }

  peerRecv(q: number): number {
    return this.desc(q, D.RECV);
  }

  private callName(): string {
    return this.currentKind === 'init' || this.currentKind === 'sendRecv' ? this.currentKind : `${this.currentKind} #${this.seq}`;
  }

  private wait(index: number, target: number, peer: number, what: string): void {
    this.waitPeer = peer;
    this.waitWhat = what;
    this.sync.waitFor(index, target, this.clock, this.late);
  }

  arriveAll(): void {
    const a = ++this.arrivals;
    this.sync.post(rankBase(this.rank) + R.ARRIVE, a);
    this.awaitAll(R.ARRIVE, a, 'did not reach the barrier');
  }

  /**
   * Waits until every peer's per-rank word `field` reaches `value`. When
   * ranks outnumber cores, all wait on the shared arrival counter instead
   * and the per-rank words only name the late rank in an error.
   */
  private awaitAll(field: R, value: number, what: string): void {
    if (this.sync.central) {
      const target = (++this.centralRounds * this.size) | 0;
      this.sync.arrive(Hdr.ARRIVALS, target);
      this.sync.waitFor(Hdr.ARRIVALS, target, this.clock, this.lateCentral(field, value, what));
      return;
    }
    for (let q = 0; q < this.size; q++) {
      if (q !== this.rank) this.wait(rankBase(q) + field, value, q, what);
    }
  }

  private lateRank(field: R, value: number): number {
    for (let q = 0; q < this.size; q++) {
      if (((this.words[rankBase(q) + field]! - value) | 0) < 0) return q;
    }
    return -1;
  }

  private lateCentral(field: R, value: number, what: string): (ms: number) => string {
    return (ms) => `${this.callName()}: rank ${this.lateRank(field, value)} ${what} within ${ms} ms`;
  }

  // Step words start at 0, so step k of a call is posted as base + k + 1:
  // a wait for step 0 must not be satisfied by the initial zero.
  postStep(k: number): void {
    this.sync.post(rankBase(this.rank) + R.STEP, (this.stepBase + k + 1) | 0);
  }

  waitStep(q: number, k: number): void {
    this.wait(rankBase(q) + R.STEP, (this.stepBase + k + 1) | 0, q, 'did not reach its next step');
  }

  finishSteps(total: number): void {
    this.stepBase = (this.stepBase + total) | 0;
  }

  nextPiece(): number {
    return this.pieces++;
  }

  sources(n: number): number[] {
    if (this.srcs.length !== n) this.srcs.length = n;
    return this.srcs;
  }

  copy(dst: number, src: number, bytes: number): void {
    if (bytes <= 0 || dst === src) return;
    if (bytes <= SMALL_COPY_BYTES && (dst >= src + bytes || src >= dst + bytes)) {
      // A byte loop beats the runtime call behind copyWithin for a few bytes.
      const m = this.mem;
      for (let i = 0; i < bytes; i++) m[dst + i] = m[src + i]!;
      return;
    }
    this.mem.copyWithin(dst, src, src + bytes);
  }

  // ---- state -------------------------------------------------------------

  get isDestroyed(): boolean {
    return this.destroyed;
  }

  /** ncclCommGetAsyncError: the error that made this communicator unusable, if any. */
  asyncError(): Error | undefined {
    if (!this.error) {
      const aborted = Atomics.load(this.words, Hdr.ABORTED);
      if (aborted !== 0 && !this.destroyed) return new CollectiveError('ECANCELED', `communicator was aborted by rank ${aborted - 1}`);
    }
    return this.error;
  }

  private checkUsable(): void {
    if (this.destroyed) throw new CollectiveError('EINVAL', 'communicator is destroyed');
    if (this.error) throw new CollectiveError('EIO', `communicator is unusable after an earlier error (${this.error.message}); destroy it and create a new one`);
    const aborted = Atomics.load(this.words, Hdr.ABORTED);
    if (aborted !== 0) throw new CollectiveError('ECANCELED', `communicator was aborted by rank ${aborted - 1}`);
  }

  // ---- collectives -------------------------------------------------------------

  private resolve(what: string, a: DeviceArray, dtype: Dtype | undefined): [number, Dtype] {
    if (dtype !== undefined) checkDtype('options.dtype', dtype);
    const d = dtypeOf(a, dtype);
    const offset = poolOffset(this.pool, a, what);
    // Peers write into these buffers: they must be this rank's own memory.
    if (a.byteLength > 0 && deviceOfRange(this.pool, offset, a.byteLength) !== this.device.index) {
      throw new TransportError('EINVAL', `${what} is not inside one live buffer of device ${this.device.index}; allocate it on this rank's device`);
    }
    return [offset, d];
  }

  private execute(kind: CollectiveKind, send: number, recv: number, count: number, dtype: Dtype, opts: CollectiveOptions, sendBytes: number, recvBytes: number): void {
    this.checkUsable();
    const op = opts.op === undefined ? 'sum' : opts.op;
    if (OP_CODE[op] === undefined) checkOp('options.op', op);
    const root = opts.root ?? 0;
    if (root !== 0 && (!Number.isInteger(root) || root < 0 || root >= this.size)) {
      throw new TransportError('EINVAL', `options.root must be an integer in [0, ${this.size}) (got ${root})`);
    }
    const timeoutMs = opts.timeoutMs ?? this.timeoutMs;
    if (opts.timeoutMs !== undefined) checkPositiveInt('options.timeoutMs', timeoutMs);
    const eb = DTYPE_BYTES[dtype];
    const alg = kind === 'barrier' || kind === 'split' ? undefined : this.size === 1 ? localCopy : chooseAlgorithm(kind, count * eb, this.size, opts.algo, this.envAlgo);
    const seq = ++this.seq;
    this.currentKind = kind;
    this.clock.timeoutMs = timeoutMs;
    this.clock.start = 0;
    this.divisor = op === 'avg' ? this.size : 1;
    // One Call per communicator, refilled: calls never overlap on a rank.
    const call = this.call;
    call.kind = kind;
    call.count = count;
    call.dtype = dtype;
    call.elemBytes = eb;
    call.op = op;
    call.root = root;
    call.send = send;
    call.recv = recv;
    call.seq = seq;
    call.staged = -1;
    const fences = fenceBuffers(this.pool, send, sendBytes, recv, recvBytes, timeoutMs);
    try {
      alg?.prepare?.(this, call);
      const w = this.words;
      const d = rankBase(this.rank) + R.DESC + (seq & 1) * R.DESC_WORDS;
      w[d + D.KIND] = KIND[kind];
      w[d + D.COUNT] = count;
      w[d + D.DTYPE] = DTYPE_CODE[dtype];
      w[d + D.OP] = OP_CODE[op];
      w[d + D.ROOT] = root;
      w[d + D.SEND] = send;
      w[d + D.RECV] = recv;
      w[d + D.ALGO] = alg ? ALGO_CODE[alg.name] : 0;
      this.sync.post(rankBase(this.rank) + R.SEQ, seq);
      if (this.sync.central) {
        this.awaitAll(R.SEQ, seq, 'did not arrive');
        for (let q = 0; q < this.size; q++) if (q !== this.rank) this.checkSame(q, d);
      } else {
        for (let q = 0; q < this.size; q++) {
          if (q === this.rank) continue;
          this.wait(rankBase(q) + R.SEQ, seq, q, 'did not arrive');
          this.checkSame(q, d);
        }
      }
      alg?.run(this, call);
    } catch (e) {
      this.error = e as Error;
      throw e;
    } finally {
      if (fences.length > 0) for (const f of fences) f.signal();
    }
  }

  /** Mismatched calls are reported, never silently reduced. */
  private checkSame(q: number, mine: number): void {
    const w = this.words;
    const theirs = rankBase(q) + R.DESC + (this.seq & 1) * R.DESC_WORDS;
    for (const f of CHECKED) {
      if (w[mine + f] !== w[theirs + f]) {
        throw new CollectiveError('EINVAL', `${this.callName()}: ${describeMismatch(f, q, w[theirs + f]!, this.rank, w[mine + f]!)}`);
      }
    }
  }

  /** ncclAllReduce; in place when send and recv are the same view. */
  allReduce(send: DeviceArray, recv: DeviceArray, opts: CollectiveOptions = {}): void {
    const [s, r, dtype] = this.pair(send, recv, opts.dtype);
    if (recv.length !== send.length) throw new TransportError('EINVAL', `allReduce: recv has ${recv.length} elements, send has ${send.length}; they must match`);
    const bytes = send.length * DTYPE_BYTES[dtype];
    this.execute('allReduce', s, r, send.length, dtype, opts, bytes, bytes);
  }

  /** ncclAllGather: recv holds size × send.length elements, rank q's block at q. */
  allGather(send: DeviceArray, recv: DeviceArray, opts: CollectiveOptions = {}): void {
    const [s, r, dtype] = this.pair(send, recv, opts.dtype);
    if (recv.length !== send.length * this.size) throw new TransportError('EINVAL', `allGather: recv must hold size × send.length = ${send.length * this.size} elements (got ${recv.length})`);
    const eb = DTYPE_BYTES[dtype];
    this.execute('allGather', s, r, send.length, dtype, opts, send.length * eb, recv.length * eb);
  }

  /** ncclReduceScatter: send holds size × recv.length elements; rank r gets block r reduced. */
  reduceScatter(send: DeviceArray, recv: DeviceArray, opts: CollectiveOptions = {}): void {
    const [s, r, dtype] = this.pair(send, recv, opts.dtype);
    if (send.length !== recv.length * this.size) throw new TransportError('EINVAL', `reduceScatter: send must hold size × recv.length = ${recv.length * this.size} elements (got ${send.length})`);
    const eb = DTYPE_BYTES[dtype];
    this.execute('reduceScatter', s, r, recv.length, dtype, opts, send.length * eb, recv.length * eb);
  }

  /** ncclBroadcast: the root's send reaches every rank's recv; send is read only on the root. */
  broadcast(send: DeviceArray, recv: DeviceArray, opts: CollectiveOptions = {}): void {
    const [s, r, dtype] = this.pair(send, recv, opts.dtype);
    if (this.rank === (opts.root ?? 0) && send.length < recv.length) throw new TransportError('EINVAL', `broadcast: the root's send has ${send.length} elements, fewer than recv's ${recv.length}`);
    const bytes = recv.length * DTYPE_BYTES[dtype];
    this.execute('broadcast', s, r, recv.length, dtype, opts, this.rank === (opts.root ?? 0) ? bytes : 0, bytes);
  }

  /** ncclReduce: the reduction lands in the root's recv only. */
  reduce(send: DeviceArray, recv: DeviceArray, opts: CollectiveOptions = {}): void {
    const [s, r, dtype] = this.pair(send, recv, opts.dtype);
    if (recv.length !== send.length) throw new TransportError('EINVAL', `reduce: recv has ${recv.length} elements, send has ${send.length}; they must match`);
    const bytes = send.length * DTYPE_BYTES[dtype];
    this.execute('reduce', s, r, send.length, dtype, opts, bytes, this.rank === (opts.root ?? 0) ? bytes : 0);
  }

  /** ncclAlltoAll: block q of send goes to rank q, landing at block `rank` of its recv. */
  allToAll(send: DeviceArray, recv: DeviceArray, opts: CollectiveOptions = {}): void {
    const [s, r, dtype] = this.pair(send, recv, opts.dtype);
    if (send.length !== recv.length || send.length % this.size !== 0) {
      throw new TransportError('EINVAL', `allToAll: send and recv must have the same length, a multiple of size ${this.size} (got ${send.length} and ${recv.length})`);
    }
    if (s === r && this.size > 1) throw new TransportError('EINVAL', 'allToAll cannot run in place; pass a separate recv buffer');
    const bytes = send.length * DTYPE_BYTES[dtype];
    this.execute('allToAll', s, r, send.length / this.size, dtype, opts, bytes, bytes);
  }

  /** ncclBarrier-like: returns when every rank has called it. */
  barrier(opts: { timeoutMs?: number } = {}): void {
    this.execute('barrier', 0, 0, 0, 'uint8', opts, 0, 0);
  }

  /** Pool offsets of a send/recv pair and their common dtype. */
  private pair(send: DeviceArray, recv: DeviceArray, dtype: Dtype | undefined): [number, number, Dtype] {
    const [s, sd] = this.resolve('send', send, dtype);
    const [r, rd] = this.resolve('recv', recv, dtype);
    if (sd !== rd) throw new TransportError('EINVAL', `send is ${sd} but recv is ${rd}; they must have the same dtype`);
    return [s, r, sd];
  }

  // ---- point to point -------------------------------------------------------------

  /**
   * ncclSend/ncclRecv as one group: posts the send, completes the receive,
   * then waits for the send to be consumed, so rings of sendRecv never deadlock.
   * The receiver copies straight from the sender's buffer.
   */
  sendRecv(send: P2pSide | undefined, recv: P2pSide | undefined, opts: { dtype?: Dtype; timeoutMs?: number } = {}): void {
    this.checkUsable();
    const timeoutMs = opts.timeoutMs ?? this.timeoutMs;
    if (opts.timeoutMs !== undefined) checkPositiveInt('options.timeoutMs', timeoutMs);
    this.clock.timeoutMs = timeoutMs;
    this.clock.start = 0;
    this.currentKind = 'sendRecv';
    try {
      this.p2p.run(send, recv, opts.dtype);
    } catch (e) {
      if (e instanceof CollectiveError) this.error = e;
      throw e;
    }
  }

  send(data: DeviceArray, peer: number, opts: { dtype?: Dtype; timeoutMs?: number } = {}): void {
    this.sendRecv({ data, peer }, undefined, opts);
  }

  recv(data: DeviceArray, peer: number, opts: { dtype?: Dtype; timeoutMs?: number } = {}): void {
    this.sendRecv(undefined, { data, peer }, opts);
  }

  // ---- lifecycle -------------------------------------------------------------

  /**
   * ncclCommSplit: ranks with the same color form a new communicator,
   * ordered by key then by old rank; color -1 takes no part.
   */
  split(color: number, key: number, options: CommOptions = {}): Communicator | undefined {
    if (!Number.isInteger(color) || color < -1) throw new TransportError('EINVAL', `color must be a non-negative integer or -1 (got ${color})`);
    if (!Number.isInteger(key)) throw new TransportError('EINVAL', `key must be an integer (got ${key})`);
    const w = this.words;
    const me = rankBase(this.rank);
    w[me + R.SPLIT_COLOR] = color;
    w[me + R.SPLIT_KEY] = key;
    this.execute('split', 0, 0, 0, 'uint8', {}, 0, 0);
    const members: number[] = [];
    for (let q = 0; q < this.size; q++) if (w[rankBase(q) + R.SPLIT_COLOR] === color) members.push(q);
    members.sort((a, b) => w[rankBase(a) + R.SPLIT_KEY]! - w[rankBase(b) + R.SPLIT_KEY]! || a - b);
    const leader = members[0]!;
    if (color !== -1 && leader === this.rank) {
      const id = Communicator.createId(this.pool, members.length);
      w[me + R.SPLIT_CHILD] = id.offset;
    }
    this.arriveAll();
    let comm: Communicator | undefined;
    if (color !== -1) {
      const offset = w[rankBase(leader) + R.SPLIT_CHILD]!;
      const child = new Int32Array(this.pool.memory.buffer, offset, 16);
      const id: CommId = { kind: 'comm-id', pool: this.pool.id, offset, nranks: members.length, token: child[Hdr.TOKEN]! };
      comm = Communicator.init(this.device, id, members.indexOf(this.rank), { timeoutMs: this.timeoutMs, slotBytes: this.slotBytes, ...options });
    }
    // The leader's record may be reused by a later split only after everyone read it.
    this.arriveAll();
    return comm;
  }

  /** ncclCommAbort: every rank waiting in a call of this communicator fails now. */
  abort(): void {
    Atomics.compareExchange(this.words, Hdr.ABORTED, 0, this.rank + 1);
    if (!this.destroyed) this.destroy();
  }

  /** ncclCommDestroy: releases this rank's scratch and its imports of the peers'. */
  destroy(): void {
    if (this.destroyed) throw new CollectiveError('EINVAL', 'communicator is already destroyed');
    this.destroyed = true;
    for (const p of this.peers) {
      if (p.attachment && p.mapping) {
        p.attachment.unmap(p.mapping);
        p.attachment.detach();
        p.dmabuf!.release();
      }
    }
    this.scratchExport.release();
    // Peers that still map the scratch keep its pages alive until they let go.
    if (this.device.isOpen) this.device.free(this.scratchBuf);
    if (Atomics.add(this.words, Hdr.LEFT, 1) + 1 === this.size) {
      const bytes = this.words[Hdr.BYTES]!;
      Atomics.store(this.words, Hdr.MAGIC, 0);
      freeHost(this.pool, this.id.offset, bytes);
    }
  }
}
