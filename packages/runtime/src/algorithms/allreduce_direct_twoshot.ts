import { type Algorithm, chunk } from '../algorithm.js';
import { Buf } from '../connectors/connector.js';

/**
 * Reduce-scatter then all-gather straight over the registered buffers:
 * rank r reduces chunk r of every input a cache-sized piece at a time into
 * its own output, and pushes each finished piece into every peer's output
 * while it is still in cache. Each chunk is reduced once and read from
 * memory once; one barrier per call.
 */
export const allreduceTwoshot: Algorithm = {
  name: 'twoshot',
  proto: 'simple',
  code: 2,
  run(p, call) {
    const eb = call.elemBytes;
    const n = p.size;
    const [s, l] = chunk(call.count, n, p.rank);
    const per = Math.max(1, Math.floor(p.pieceBytes / eb));
    const srcs = p.srcs(n);
    for (let start = s; start < s + l; start += per) {
      const len = Math.min(per, s + l - start);
      const at = start * eb;
      for (let q = 0; q < n; q++) srcs[q] = p.source(q, Buf.SEND, at, len * eb);
      p.reduce(call, p.local(Buf.RECV, at), srcs, len, 0, call.divisor);
      for (let i = 1; i < n; i++) p.putFrom((p.rank + i) % n, Buf.RECV, at, Buf.RECV, at, len * eb);
    }
    // Every chunk has landed everywhere, and nobody still reads an input.
    p.barrier();
  },
};
