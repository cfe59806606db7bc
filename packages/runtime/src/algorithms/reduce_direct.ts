import type { Algorithm } from '../algorithm.js';

/** The root reduces every input into its output in one kernel pass. */
export const reduceDirect: Algorithm = {
  name: 'direct',
  run(c, call) {
    if (c.rank === call.root) {
      const srcs: number[] = [];
      for (let q = 0; q < c.size; q++) srcs.push(q === c.rank ? call.send : c.peerSend(q));
      c.kernels.reduce(call.op, call.dtype, call.recv, srcs, call.count, c.divisor);
    }
    c.arriveAll();
  },
};
