import type { Algorithm } from '../algorithm.js';
import { Buf } from '../connectors/connector.js';

/**
 * Small all-reduce over ll (oneshot): each rank puts its input and the
 * call's flag in its own slot, reads every peer's when its flag shows up,
 * and reduces all of them in rank order — one line crossing per peer, no
 * handshake and no trailing barrier.
 */
export const allreduceLl: Algorithm = {
  name: 'oneshot',
  proto: 'll',
  code: 9,
  run(p, call) {
    const parity = p.llExchange(call, Buf.SEND, 0, call.count * call.elemBytes);
    const srcs = p.srcs(p.size);
    for (let i = 1; i < p.size; i++) {
      const q = (p.rank + i) % p.size;
      srcs[q] = p.llAwait(call, q, parity);
    }
    srcs[p.rank] = p.local(Buf.SEND, 0);
    p.reduce(call, p.local(Buf.RECV, 0), srcs, call.count, 0, call.divisor);
  },
};
