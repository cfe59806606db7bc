import type { Algorithm } from '../algorithm.js';
import { Buf } from '../connectors/connector.js';
import { Ch } from '../scratch_layout.js';

/**
 * Ring all-gather: each rank sends its block rightwards, and passes on
 * every block it receives but the last, a slot-sized piece at a time.
 */
export const allgatherRing: Algorithm = {
  name: 'ring',
  proto: 'simple',
  code: 3,
  run(p, call) {
    const n = p.size;
    const r = p.rank;
    const left = (r - 1 + n) % n;
    const right = (r + 1) % n;
    const eb = call.elemBytes;
    const bytes = call.count * eb;
    if (!call.inPlace) p.getInto(Buf.RECV, r * bytes, r, Buf.SEND, 0, bytes);
    const per = Math.max(1, Math.floor(p.slotBytes / eb));
    const pieces = Math.max(1, Math.ceil(call.count / per));
    for (let k = 0; k < pieces; k++) {
      const start = k * per;
      const len = Math.min(per, call.count - start);
      p.send(call, right, Ch.RING, Buf.RECV, r * bytes + start * eb, len);
      for (let t = 1; t < n; t++) {
        const at = ((r - t + n) % n) * bytes + start * eb;
        if (t < n - 1) p.recvCopySend(call, left, right, Ch.RING, Buf.RECV, at, len);
        else p.recv(call, left, Ch.RING, Buf.RECV, at, len);
      }
    }
  },
};
