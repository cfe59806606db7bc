// The SPMD half of collective-bench: runs in every device worker, times one
// collective over a size sweep (out-of-place and in-place) and checks it.
import { type DeviceArray, type DeviceContext, DTYPE_BYTES, type Dtype, type ReduceOp } from '@collective/runtime';
import { type CollectiveName, SPECS } from './collectives.js';
import { decode, encode, expectedReduce, inputValue, matches } from './exact_inputs.js';
import { jobFigures } from './job_figures.js';
import type { Sample } from './sample.js';
import { batchSizes, WARM_MS } from './timing_plan.js';

export interface WorkerArgs {
  collective: CollectiveName;
  sizes: number[];
  dtype: Dtype;
  op: ReduceOp;
  root: number;
  /** 0: enough iterations for about minTimeMs per size */
  iters: number;
  warmup: number;
  check: boolean;
  algo?: string;
  proto?: string;
  minTimeMs: number;
  /** 'min': the fastest batch instead of the median (the tuner wants what an algorithm can do, not the scheduler's noise) */
  stat?: 'median' | 'min';
  /** first launch of a world: settle the JIT on a spread of sizes before timing anything */
  settleMs?: number;
}

/** What every rank returns: the job's figures (the same on every rank) and how this rank reaches each peer. */
export interface WorkerResult {
  samples: Sample[];
  connectors: ('shm' | 'net' | 'self')[];
}

const YIELD_MS = 300;

interface Plan {
  /** elements of one rank's block (all_gather, reduce_scatter, alltoall) or of the buffer */
  per: number;
  sendLen: number;
  recvLen: number;
  count: number;
}

function plan(name: CollectiveName, n: number, bytes: number, eb: number): Plan {
  const spec = SPECS[name];
  if (spec.perRankBlocks) {
    const per = Math.floor(bytes / (eb * n));
    const total = per * n;
    if (name === 'all_gather') return { per, sendLen: per, recvLen: total, count: total };
    if (name === 'reduce_scatter') return { per, sendLen: total, recvLen: per, count: total };
    return { per, sendLen: total, recvLen: total, count: total };
  }
  const count = Math.floor(bytes / eb);
  return { per: count, sendLen: count, recvLen: count, count };
}

export default function collectiveWorker(ctx: DeviceContext): WorkerResult {
  const a = ctx.args as WorkerArgs;
  const n = ctx.size;
  const r = ctx.rank;
  const c = ctx.comm;
  const eb = DTYPE_BYTES[a.dtype];
  const maxElems = Math.max(1, ...a.sizes.map((b) => Math.ceil(b / eb)));
  const send = ctx.alloc(a.dtype, maxElems);
  const recv = ctx.alloc(a.dtype, maxElems);
  const opts = { op: a.op, root: a.root, dtype: a.dtype, algo: a.algo, proto: a.proto };
  const view = (arr: DeviceArray) => arr as unknown as { [i: number]: number | bigint; fill(v: number | bigint): void };

  const opFor = (p: Plan, inPlace: boolean): (() => void) | undefined => {
    const s = send.subarray(0, p.sendLen) as DeviceArray;
    const d = recv.subarray(0, p.recvLen) as DeviceArray;
    switch (a.collective) {
      case 'all_reduce':
        return inPlace ? () => c.allReduce(d, d, opts) : () => c.allReduce(s, d, opts);
      case 'broadcast':
        return inPlace ? () => c.broadcast(d, d, opts) : () => c.broadcast(s, d, opts);
      case 'reduce':
        return inPlace ? () => c.reduce(d, d, opts) : () => c.reduce(s, d, opts);
      case 'all_gather':
        return inPlace ? () => c.allGather(d.subarray(r * p.per, (r + 1) * p.per) as DeviceArray, d, opts) : () => c.allGather(s, d, opts);
      case 'reduce_scatter': {
        const big = recv.subarray(0, p.sendLen) as DeviceArray;
        return inPlace ? () => c.reduceScatter(big, big.subarray(r * p.per, (r + 1) * p.per) as DeviceArray, opts) : () => c.reduceScatter(s, d, opts);
      }
      case 'alltoall':
        return inPlace ? undefined : () => c.allToAll(s, d, opts);
      case 'sendrecv':
        return inPlace ? undefined : () => c.sendRecv({ data: s, peer: (r + 1) % n }, { data: d, peer: (r - 1 + n) % n }, opts);
    }
  };

  /** Fills the inputs of one call; in place, they live in recv. */
  const fillInputs = (p: Plan, inPlace: boolean) => {
    const v = view(send);
    for (let i = 0; i < p.sendLen; i++) v[i] = encode(a.dtype, inputValue(a.op, r, i));
    if (inPlace) {
      const d = view(recv);
      if (a.collective === 'all_gather') for (let i = 0; i < p.per; i++) d[r * p.per + i] = v[i]!;
      else for (let i = 0; i < p.sendLen; i++) d[i] = v[i]!;
    } else {
      new Uint8Array(recv.buffer, recv.byteOffset, p.recvLen * eb).fill(0);
    }
  };

  /** #wrong: output elements that differ from the exact expectation. */
  const countWrong = (p: Plan, inPlace: boolean): number => {
    // In-place reduce_scatter leaves this rank's block inside the input buffer.
    const at = inPlace && a.collective === 'reduce_scatter' ? r * p.per : 0;
    const d = view(recv.subarray(at) as DeviceArray);
    const name = a.collective;
    let wrong = 0;
    const want = (k: number): number | undefined => {
      switch (name) {
        case 'all_reduce': return expectedReduce(a.op, n, k);
        case 'reduce': return r === a.root ? expectedReduce(a.op, n, k) : undefined;
        case 'reduce_scatter': return expectedReduce(a.op, n, r * p.per + k);
        case 'broadcast': return inputValue(a.op, a.root, k);
        case 'all_gather': return inputValue(a.op, Math.floor(k / p.per), k % p.per);
        case 'alltoall': return inputValue(a.op, Math.floor(k / p.per), r * p.per + (k % p.per));
        case 'sendrecv': return inputValue(a.op, (r - 1 + n) % n, k);
      }
    };
    for (let k = 0; k < p.recvLen; k++) {
      const w = want(k);
      if (w === undefined) break;
      if (!matches(a.dtype, a.op, decode(a.dtype, d[k]!), w)) wrong++;
    }
    return wrong;
  };

  const time = (run: () => void, iters: number): number => {
    c.barrier();
    const t0 = performance.now();
    for (let i = 0; i < iters; i++) run();
    return ((performance.now() - t0) * 1000) / iters;
  };

  /**
   * Median of the timed batches (five, fewer when -n is smaller): on two
   * shared cores one descheduled thread can stall a batch by a scheduler
   * tick, which a mean would smear over the whole figure. Also returns how
   * far apart the batches are, which says how busy the machine was.
   */
  const timeBatches = (run: () => void, iters: number): { us: number; spread: number } => {
    const t = batchSizes(iters).map((k) => time(run, k)).sort((x, y) => x - y);
    const us = a.stat === 'min' ? t[0]! : t[(t.length - 1) >> 1]!;
    // One stalled batch is what the median is for; batches that disagree beyond it say the machine was busy.
    const [lo, hi] = t.length >= 4 ? [t[1]!, t.at(-2)!] : [t[0]!, t.at(-1)!];
    return { us, spread: lo > 0 ? hi / lo : 1 };
  };

  /** Runs for about `ms` untimed, so the JIT and caches have settled. */
  const warm = (run: () => void, ms: number) => {
    const t0 = performance.now();
    let i = 0;
    // Ranks must agree on the count: everyone stops after the same number of calls.
    const flag = ctx.alloc('int32', 1) as Int32Array;
    do {
      for (let k = 0; k < 16; k++, i++) run();
      flag[0] = performance.now() - t0 < ms ? 1 : 0;
      c.allReduce(flag, flag, { op: 'max' });
    } while (flag[0] === 1);
    ctx.free(flag);
  };

  // One pass over every size first, so the JIT has settled before anything is timed.
  for (const bytes of a.sizes) {
    const p = plan(a.collective, n, bytes, eb);
    opFor(p, false)!();
  }

  if (a.settleMs) {
    // A spread of sizes, then the sizes about to be timed, so nothing timed runs in a tier-up.
    const spread = [...[8, 4096, 65536, 1 << 20].filter((b) => b <= maxElems * eb), ...a.sizes];
    for (const bytes of spread) {
      const p = plan(a.collective, n, bytes, eb);
      for (const inPlace of [false, true]) {
        const run = opFor(p, inPlace);
        if (run) warm(run, a.settleMs / (2 * spread.length));
      }
    }
    // Yield the cores for a moment: V8 finishes optimising on background
    // threads, which would otherwise compete with the first timed size.
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, YIELD_MS);
    c.barrier();
  }

  const measure = (): Sample[] => {
    const samples: Sample[] = [];
    for (const bytes of a.sizes) {
      const p = plan(a.collective, n, bytes, eb);
      const sample: Sample = { bytes: p.count * eb, count: p.count, outUs: NaN, outWrong: 0, inUs: NaN, inWrong: 0, spread: 1, algo: '', proto: '' };
      for (const inPlace of [false, true]) {
        const run = opFor(p, inPlace);
        if (!run) continue;
        fillInputs(p, inPlace);
        for (let i = 0; i < a.warmup; i++) run();
        warm(run, WARM_MS);
        let iters = a.iters;
        if (iters === 0) {
          // Every rank must run the same number of iterations: agree on the slowest estimate.
          const probe = time(run, 3);
          const t = ctx.alloc('float64', 1) as Float64Array;
          t[0] = probe;
          c.allReduce(t, t, { op: 'max' });
          iters = Math.max(5, Math.min(100_000, Math.ceil((a.minTimeMs * 1000) / Math.max(t[0]!, 0.05))));
          ctx.free(t);
        }
        const { us, spread } = timeBatches(run, iters);
        sample.spread = Math.max(sample.spread, spread);
        if (!inPlace) {
          // Read before the check's barrier, which is a call of its own.
          const ran = a.collective === 'sendrecv' ? { algo: 'p2p', proto: 'simple' } : c.lastAlgorithm;
          sample.algo = ran?.algo ?? 'unknown';
          sample.proto = ran?.proto ?? 'unknown';
        }
        let wrong = 0;
        if (a.check) {
          fillInputs(p, inPlace);
          run();
          c.barrier();
          wrong = countWrong(p, inPlace);
        }
        if (inPlace) {
          sample.inUs = us;
          sample.inWrong = wrong;
        } else {
          sample.outUs = us;
          sample.outWrong = wrong;
        }
      }
      samples.push(sample);
    }
    return samples;
  };
  // The first timing after start-up still overlaps V8's background work on two cores: take it twice.
  if (a.settleMs) measure();
  return { samples: jobFigures(ctx, measure()), connectors: c.connectors };
}
