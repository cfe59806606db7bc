import { type Algorithm, chunk } from '../algorithm.js';
import { DST_F32, SRC0_F32 } from '../kernels/reduce_kernels.js';

/**
 * Ring all-reduce: partials travel rightwards through the ranks' scratch
 * (reduce-scatter, n-1 reductions per chunk), then the finished chunks
 * travel rightwards through the output buffers (all-gather). Low-precision
 * partials are carried in float32 and rounded once.
 */
export const allreduceRing: Algorithm = {
  name: 'ring',
  run(c, call) {
    const n = c.size;
    const r = c.rank;
    const left = (r - 1 + n) % n;
    const right = (r + 1) % n;
    const eb = call.elemBytes;
    const lowp = call.dtype === 'float16' || call.dtype === 'bfloat16';
    const accBytes = lowp ? 4 : eb;
    const perChunk = Math.floor(c.slotBytes / accBytes);
    const perPiece = perChunk * n;
    const pieces = Math.max(1, Math.ceil(call.count / perPiece));
    const stepsPerPiece = 2 * n - 1;
    // The right neighbour consumes scratch write w at this step of its own.
    const consumeStep = (w: number) => Math.floor(w / (n - 1)) * stepsPerPiece + (w % (n - 1)) + 1;
    let w = 0;
    for (let p = 0; p < pieces; p++) {
      const pStart = p * perPiece;
      const pLen = Math.min(perPiece, call.count - pStart);
      const base = p * stepsPerPiece;
      for (let s = 0; s < n; s++) {
        const ch = (r - 1 - s + 2 * n) % n;
        const [cs, cl] = chunk(pLen, n, ch);
        const mine = call.send + (pStart + cs) * eb;
        if (s > 0) c.waitStep(left, base + s - 1);
        const from = c.scratch(left, (w - 1) & 1);
        if (s === n - 1) {
          c.kernels.reduce(call.op, call.dtype, call.recv + (pStart + cs) * eb, [from, mine], cl, c.divisor, SRC0_F32);
        } else {
          if (w >= 2) c.waitStep(right, consumeStep(w - 2));
          const to = c.scratch(r, w & 1);
          if (s === 0) c.kernels.reduce(call.op, call.dtype, to, [mine], cl, 1, DST_F32);
          else c.kernels.reduce(call.op, call.dtype, to, [from, mine], cl, 1, SRC0_F32 | DST_F32);
          w++;
        }
        c.postStep(base + s);
      }
      for (let t = 1; t < n; t++) {
        const ch = (r - t + n) % n;
        const [cs, cl] = chunk(pLen, n, ch);
        c.waitStep(left, base + n - 2 + t);
        const off = (pStart + cs) * eb;
        c.copy(call.recv + off, c.peerRecv(left) + off, cl * eb);
        c.postStep(base + n - 1 + t);
      }
    }
    c.finishSteps(pieces * stepsPerPiece);
    c.arriveAll();
  },
};
