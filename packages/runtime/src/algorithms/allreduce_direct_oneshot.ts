import type { AlgoComm, Algorithm } from '../algorithm.js';

/** Up to this many bytes a staged copy is cheaper than the extra end barrier of reading in place. */
export const STAGE_MAX_BYTES = 4096;

function scratchSources(c: AlgoComm, parity: number): number[] {
  const out = c.sources(c.size);
  for (let q = 0; q < c.size; q++) out[q] = c.scratch(q, parity);
  return out;
}

/**
 * Every rank reduces every input into its own output, in rank order, so
 * results match bitwise. Small inputs are staged in scratch first (one
 * synchronisation); larger out-of-place inputs are read where they are.
 */
export const allreduceOneshot: Algorithm = {
  name: 'oneshot',
  prepare(c, call) {
    const bytes = call.count * call.elemBytes;
    if (bytes > STAGE_MAX_BYTES && call.send !== call.recv) return;
    if (bytes > c.slotBytes) return;
    // The slot the previous call did not use: a peer may still be reading that one.
    const parity = c.nextPiece() & 1;
    c.copy(c.scratch(c.rank, parity), call.send, bytes);
    call.staged = parity;
  },
  run(c, call) {
    if (call.staged >= 0) {
      c.kernels.reduce(call.op, call.dtype, call.recv, scratchSources(c, call.staged), call.count, c.divisor);
      return;
    }
    const eb = call.elemBytes;
    if (call.send !== call.recv) {
      const srcs = c.sources(c.size);
      for (let q = 0; q < c.size; q++) srcs[q] = q === c.rank ? call.send : c.peerSend(q);
      c.kernels.reduce(call.op, call.dtype, call.recv, srcs, call.count, c.divisor);
      // Peers may still be reading this rank's input.
      c.arriveAll();
      return;
    }
    // In place and larger than a slot: staged piece by piece, step flags guarding slot reuse.
    const perPiece = Math.floor(c.slotBytes / eb);
    const pieces = Math.ceil(call.count / perPiece);
    for (let p = 0; p < pieces; p++) {
      const start = p * perPiece;
      const len = Math.min(perPiece, call.count - start);
      if (p >= 2) for (let q = 0; q < c.size; q++) if (q !== c.rank) c.waitStep(q, 2 * (p - 2) + 1);
      c.copy(c.scratch(c.rank, p & 1), call.send + start * eb, len * eb);
      c.postStep(2 * p);
      for (let q = 0; q < c.size; q++) if (q !== c.rank) c.waitStep(q, 2 * p);
      c.kernels.reduce(call.op, call.dtype, call.recv + start * eb, scratchSources(c, p & 1), len, c.divisor);
      c.postStep(2 * p + 1);
    }
    c.finishSteps(2 * pieces);
    c.arriveAll();
  },
};
