import type { Algorithm } from '../algorithm.js';

/** Every rank copies every peer's input straight into its own output. */
export const allgatherDirect: Algorithm = {
  name: 'direct',
  run(c, call) {
    const bytes = call.count * call.elemBytes;
    for (let i = 0; i < c.size; i++) {
      // Start at the own rank so ranks do not all read rank 0 first.
      const q = (c.rank + i) % c.size;
      const src = q === c.rank ? call.send : c.peerSend(q);
      c.copy(call.recv + q * bytes, src, bytes);
    }
    c.arriveAll();
  },
};
