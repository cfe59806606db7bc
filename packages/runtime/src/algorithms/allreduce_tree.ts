import type { Algorithm } from '../algorithm.js';
import { DST_F32, SRC0_F32 } from '../kernels/reduce_kernels.js';

/**
 * Binary-tree all-reduce, pipelined by piece: partials flow up to rank 0
 * through scratch, the result flows down through the output buffers.
 * Low-precision partials are carried in float32 and rounded once at the root.
 */
export const allreduceTree: Algorithm = {
  name: 'tree',
  run(c, call) {
    const n = c.size;
    const r = c.rank;
    const parent = r === 0 ? -1 : (r - 1) >> 1;
    const kids = [2 * r + 1, 2 * r + 2].filter((k) => k < n);
    const eb = call.elemBytes;
    const lowp = call.dtype === 'float16' || call.dtype === 'bfloat16';
    const perPiece = Math.floor(c.slotBytes / (lowp ? 4 : eb));
    const pieces = Math.max(1, Math.ceil(call.count / perPiece));
    for (let p = 0; p < pieces; p++) {
      const start = p * perPiece;
      const len = Math.min(perPiece, call.count - start);
      const mine = call.send + start * eb;
      const out = call.recv + start * eb;
      const slot = c.scratch(r, p & 1);
      for (const k of kids) c.waitStep(k, 2 * p);
      // The parent must be done with this slot's previous piece before it is overwritten.
      if (parent >= 0 && p >= 2) c.waitStep(parent, 2 * (p - 2));
      const kidSlots = kids.map((k) => c.scratch(k, p & 1));
      const target = parent < 0 ? out : slot;
      const divisor = parent < 0 ? c.divisor : 1;
      if (!lowp) {
        c.kernels.reduce(call.op, call.dtype, target, [...kidSlots.slice(0, 1), mine, ...kidSlots.slice(1)], len, divisor);
      } else {
        if (kidSlots.length === 0) c.kernels.reduce(call.op, call.dtype, slot, [mine], len, 1, DST_F32);
        else c.kernels.reduce(call.op, call.dtype, slot, [kidSlots[0]!, mine], len, 1, SRC0_F32 | DST_F32);
        if (kidSlots.length === 2) c.kernels.reduce(call.op, 'float32', slot, [kidSlots[1]!, slot], len);
        if (parent < 0) c.kernels.reduce(call.op, call.dtype, out, [slot], len, divisor, SRC0_F32);
      }
      c.postStep(2 * p);
      if (parent >= 0) {
        c.waitStep(parent, 2 * p + 1);
        c.copy(out, c.peerRecv(parent) + start * eb, len * eb);
      }
      c.postStep(2 * p + 1);
    }
    c.finishSteps(2 * pieces);
    c.arriveAll();
  },
};
