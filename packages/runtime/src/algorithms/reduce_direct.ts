import type { Algorithm } from '../algorithm.js';
import { Buf } from '../connectors/connector.js';

/** The root reduces every input into its output, a piece at a time. */
export const reduceDirect: Algorithm = {
  name: 'direct',
  proto: 'simple',
  code: 5,
  run(p, call) {
    if (p.rank === call.root) {
      const eb = call.elemBytes;
      const per = Math.max(1, Math.floor(p.pieceBytes / eb));
      const srcs = p.srcs(p.size);
      for (let start = 0; start < call.count; start += per) {
        const len = Math.min(per, call.count - start);
        for (let q = 0; q < p.size; q++) srcs[q] = p.source(q, Buf.SEND, start * eb, len * eb);
        p.reduce(call, p.local(Buf.RECV, start * eb), srcs, len, 0, call.divisor);
      }
    }
    p.barrier();
  },
};
