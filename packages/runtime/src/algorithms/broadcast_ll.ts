import type { Algorithm } from '../algorithm.js';
import { Buf } from '../connectors/connector.js';

/** Small broadcast over ll: the root posts its input, the others post only their flag and copy the root's. */
export const broadcastLl: Algorithm = {
  name: 'direct',
  proto: 'll',
  code: 13,
  run(p, call) {
    const bytes = call.count * call.elemBytes;
    const root = p.rank === call.root;
    const parity = p.llExchange(call, Buf.SEND, 0, root ? bytes : 0);
    for (let i = 1; i < p.size; i++) {
      const q = (p.rank + i) % p.size;
      const data = p.llAwait(call, q, parity);
      if (q === call.root) p.copy(p.local(Buf.RECV, 0), data, bytes);
    }
    if (root && !call.inPlace) p.copy(p.local(Buf.RECV, 0), p.local(Buf.SEND, 0), bytes);
  },
};
