import type { AlgoComm, Algorithm, Call } from '../algorithm.js';

/**
 * Every rank stages its input in its scratch, then reduces all staged
 * inputs into its own output: one synchronisation, the right shape for
 * small messages. All ranks reduce in rank order, so results match bitwise.
 */
const staged = new WeakMap<Call, number>();

function srcs(c: AlgoComm, parity: number): number[] {
  const out: number[] = [];
  for (let q = 0; q < c.size; q++) out.push(c.scratch(q, parity));
  return out;
}

export const allreduceOneshot: Algorithm = {
  name: 'oneshot',
  prepare(c, call) {
    const bytes = call.count * call.elemBytes;
    if (bytes > c.slotBytes) return;
    // The slot the previous call did not use: a peer may still be reading that one.
    const parity = c.nextPiece() & 1;
    c.copy(c.scratch(c.rank, parity), call.send, bytes);
    staged.set(call, parity);
  },
  run(c, call) {
    const parity = staged.get(call);
    if (parity !== undefined) {
      c.kernels.reduce(call.op, call.dtype, call.recv, srcs(c, parity), call.count, c.divisor);
      return;
    }
    // Larger than a slot: the same per piece, with step flags guarding slot reuse.
    const perPiece = Math.floor(c.slotBytes / call.elemBytes);
    const pieces = Math.ceil(call.count / perPiece);
    for (let p = 0; p < pieces; p++) {
      const start = p * perPiece;
      const len = Math.min(perPiece, call.count - start);
      if (p >= 2) for (let q = 0; q < c.size; q++) if (q !== c.rank) c.waitStep(q, 2 * (p - 2) + 2);
      c.copy(c.scratch(c.rank, p & 1), call.send + start * call.elemBytes, len * call.elemBytes);
      c.postStep(2 * p + 1);
      for (let q = 0; q < c.size; q++) if (q !== c.rank) c.waitStep(q, 2 * p + 1);
      c.kernels.reduce(call.op, call.dtype, call.recv + start * call.elemBytes, srcs(c, p & 1), len, c.divisor);
      c.postStep(2 * p + 2);
    }
    c.finishSteps(2 * pieces);
    c.arriveAll();
  },
};
