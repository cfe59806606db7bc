import { type Algorithm, reduceEveryInput } from '../algorithm.js';
import type { Call } from '../call.js';
import { Buf } from '../connectors/connector.js';
import type { Prims } from '../primitives.js';

/**
 * Every rank reduces every input into its own output, in rank order, so
 * results match bitwise. Inputs that fit a small slot are staged before
 * the call is announced, so the announcement is the only synchronisation;
 * larger out-of-place inputs are read where they are, a piece at a time;
 * larger in-place inputs go through the small slots piece by piece, with
 * steps guarding each slot's reuse.
 */
export const allreduceOneshot: Algorithm = {
  name: 'oneshot',
  proto: 'simple',
  code: 1,
  prepare(p, call) {
    const bytes = call.count * call.elemBytes;
    if (bytes > p.smallBytes) return;
    // Parity of the sequence: a peer may still read the other slot, never this one.
    call.staged = call.seq & 1;
    p.stage(call.staged, 0, bytes);
  },
  run(p, call) {
    if (call.staged >= 0) {
      const srcs = p.srcs(p.size);
      for (let q = 0; q < p.size; q++) srcs[q] = p.staged(q, call.staged, 0);
      p.reduce(call, p.local(Buf.RECV, 0), srcs, call.count, 0, call.divisor);
      return;
    }
    if (call.inPlace) return restaged(p, call);
    reduceEveryInput(p, call);
    // Peers may still be reading this rank's input.
    p.barrier();
  },
};

/** In place and larger than a slot: each piece is staged, reduced by everyone, and only then replaced. */
function restaged(p: Prims, call: Call): void {
  const eb = call.elemBytes;
  const per = Math.max(1, Math.floor(p.smallBytes / eb));
  const pieces = Math.ceil(call.count / per);
  const srcs = p.srcs(p.size);
  for (let k = 0; k < pieces; k++) {
    const at = k * per * eb;
    const len = Math.min(per, call.count - k * per);
    if (k >= 2) for (let q = 0; q < p.size; q++) if (q !== p.rank) p.waitStep(q, 2 * (k - 2) + 1);
    p.stage(k & 1, at, len * eb);
    p.postStep(2 * k);
    for (let q = 0; q < p.size; q++) if (q !== p.rank) p.waitStep(q, 2 * k);
    for (let q = 0; q < p.size; q++) srcs[q] = p.staged(q, k & 1, at);
    p.reduce(call, p.local(Buf.RECV, at), srcs, len, 0, call.divisor);
    p.postStep(2 * k + 1);
  }
  p.finishSteps(2 * pieces);
  p.barrier();
}
