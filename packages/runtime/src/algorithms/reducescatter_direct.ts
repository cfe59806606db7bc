import type { Algorithm } from '../algorithm.js';

/** Rank r reduces block r of every input into its output in one kernel pass. */
export const reducescatterDirect: Algorithm = {
  name: 'direct',
  run(c, call) {
    const at = c.rank * call.count * call.elemBytes;
    const srcs: number[] = [];
    for (let q = 0; q < c.size; q++) srcs.push((q === c.rank ? call.send : c.peerSend(q)) + at);
    c.kernels.reduce(call.op, call.dtype, call.recv, srcs, call.count, c.divisor);
    c.arriveAll();
  },
};
