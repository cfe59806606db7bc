import type { Algorithm } from '../algorithm.js';
import { Buf } from '../connectors/connector.js';

/** Non-roots copy the root's input straight into their outputs. */
export const broadcastDirect: Algorithm = {
  name: 'direct',
  proto: 'simple',
  code: 5,
  run(p, call) {
    if (p.rank !== call.root || !call.inPlace) p.getInto(Buf.RECV, 0, call.root, Buf.SEND, 0, call.count * call.elemBytes);
    p.barrier();
  },
};
