import type { Algorithm } from '../algorithm.js';

/**
 * Ring all-gather: at step t rank r copies block r-t from its left
 * neighbour's output, which the neighbour filled at step t-1.
 */
export const allgatherRing: Algorithm = {
  name: 'ring',
  run(c, call) {
    const n = c.size;
    const r = c.rank;
    const left = (r - 1 + n) % n;
    const bytes = call.count * call.elemBytes;
    c.copy(call.recv + r * bytes, call.send, bytes);
    c.postStep(0);
    for (let t = 1; t < n; t++) {
      const b = (r - t + n) % n;
      c.waitStep(left, t - 1);
      c.copy(call.recv + b * bytes, c.peerRecv(left) + b * bytes, bytes);
      c.postStep(t);
    }
    c.finishSteps(n);
    c.arriveAll();
  },
};
