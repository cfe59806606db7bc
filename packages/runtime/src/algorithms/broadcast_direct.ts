import type { Algorithm } from '../algorithm.js';

/** Non-roots copy the root's input straight into their outputs. */
export const broadcastDirect: Algorithm = {
  name: 'direct',
  run(c, call) {
    const bytes = call.count * call.elemBytes;
    const src = c.rank === call.root ? call.send : c.peerSend(call.root);
    c.copy(call.recv, src, bytes);
    c.arriveAll();
  },
};
