import type { Algorithm } from '../algorithm.js';
import { Buf } from '../connectors/connector.js';

/** Every rank copies every peer's input straight into its own output. */
export const allgatherDirect: Algorithm = {
  name: 'direct',
  proto: 'simple',
  code: 5,
  run(p, call) {
    const bytes = call.count * call.elemBytes;
    for (let i = 0; i < p.size; i++) {
      // Start at the own rank so ranks do not all read rank 0 first.
      const q = (p.rank + i) % p.size;
      if (q === p.rank && call.inPlace) continue;
      p.getInto(Buf.RECV, q * bytes, q, Buf.SEND, 0, bytes);
    }
    // Peers may still be reading this rank's input.
    p.barrier();
  },
};
