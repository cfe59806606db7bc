import type { Algorithm } from '../algorithm.js';
import { Buf } from '../connectors/connector.js';

/** Small reduce-scatter over ll: each rank posts its whole input; rank r reduces block r of all, in rank order. */
export const reducescatterLl: Algorithm = {
  name: 'direct',
  proto: 'll',
  code: 13,
  run(p, call) {
    const block = call.count * call.elemBytes;
    const parity = p.llExchange(call, Buf.SEND, 0, block * p.size);
    const at = p.rank * block;
    const srcs = p.srcs(p.size);
    for (let i = 1; i < p.size; i++) {
      const q = (p.rank + i) % p.size;
      srcs[q] = p.llAwait(call, q, parity, at);
    }
    srcs[p.rank] = p.local(Buf.SEND, at);
    p.reduce(call, p.local(Buf.RECV, 0), srcs, call.count, 0, call.divisor);
  },
};
