import type { Algorithm } from '../algorithm.js';

/** Rank r copies block r of every peer's input into block q of its output. */
export const alltoallDirect: Algorithm = {
  name: 'direct',
  run(c, call) {
    const bytes = call.count * call.elemBytes;
    for (let i = 0; i < c.size; i++) {
      const q = (c.rank + i) % c.size;
      const src = (q === c.rank ? call.send : c.peerSend(q)) + c.rank * bytes;
      c.copy(call.recv + q * bytes, src, bytes);
    }
    c.arriveAll();
  },
};
