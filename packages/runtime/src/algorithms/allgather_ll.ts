import type { Algorithm } from '../algorithm.js';
import { Buf } from '../connectors/connector.js';

/** Small all-gather over ll: each rank posts its block; every rank copies every peer's into place. */
export const allgatherLl: Algorithm = {
  name: 'direct',
  proto: 'll',
  code: 13,
  run(p, call) {
    const bytes = call.count * call.elemBytes;
    const parity = p.llExchange(call, Buf.SEND, 0, bytes);
    for (let i = 1; i < p.size; i++) {
      const q = (p.rank + i) % p.size;
      p.copy(p.local(Buf.RECV, q * bytes), p.llAwait(call, q, parity), bytes);
    }
    if (!call.inPlace) p.copy(p.local(Buf.RECV, p.rank * bytes), p.local(Buf.SEND, 0), bytes);
  },
};
