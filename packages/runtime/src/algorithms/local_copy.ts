import type { Algorithm } from '../algorithm.js';
import { Buf } from '../connectors/connector.js';

/** A communicator of one rank: the output is the input (reduced alone, for dtype conversions and avg). */
export const localCopy: Algorithm = {
  name: 'direct',
  proto: 'simple',
  code: 5,
  run(p, call) {
    const reducing = call.kind === 'allReduce' || call.kind === 'reduce' || call.kind === 'reduceScatter';
    if (!reducing) return p.copy(p.local(Buf.RECV, 0), p.local(Buf.SEND, 0), call.count * call.elemBytes);
    const s = p.srcs(1);
    s[0] = p.local(Buf.SEND, 0);
    p.reduce(call, p.local(Buf.RECV, 0), s, call.count, 0, call.divisor);
  },
};
