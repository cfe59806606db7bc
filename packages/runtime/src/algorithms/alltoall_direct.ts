import type { Algorithm } from '../algorithm.js';
import { Buf } from '../connectors/connector.js';

/** Rank r copies block r of every peer's input into block q of its output. */
export const alltoallDirect: Algorithm = {
  name: 'direct',
  proto: 'simple',
  code: 5,
  run(p, call) {
    const bytes = call.count * call.elemBytes;
    for (let i = 0; i < p.size; i++) {
      const q = (p.rank + i) % p.size;
      p.getInto(Buf.RECV, q * bytes, q, Buf.SEND, p.rank * bytes, bytes);
    }
    p.barrier();
  },
};
