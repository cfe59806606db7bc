import { type Algorithm, chunk } from '../algorithm.js';

/** Piece of a rank's chunk reduced at a time: small enough to copy out of L1/L2. */
const PIECE_BYTES = 32 * 1024;

/**
 * Reduce-scatter then all-gather straight over the users' buffers: rank r
 * reduces chunk r of every input, a cache-sized piece at a time, into its
 * own output and pushes each finished piece into every peer's output while
 * it is still in cache. Each chunk is reduced once and read from memory
 * once; two synchronisations per call.
 */
export const allreduceTwoshot: Algorithm = {
  name: 'twoshot',
  run(c, call) {
    const eb = call.elemBytes;
    const n = c.size;
    const [s, l] = chunk(call.count, n, c.rank);
    const perPiece = Math.max(1, Math.floor(PIECE_BYTES / eb));
    const srcs = c.sources(n);
    for (let start = s; start < s + l; start += perPiece) {
      const len = Math.min(perPiece, s + l - start);
      const at = start * eb;
      for (let q = 0; q < n; q++) srcs[q] = (q === c.rank ? call.send : c.peerSend(q)) + at;
      c.kernels.reduce(call.op, call.dtype, call.recv + at, srcs, len, c.divisor);
      for (let i = 1; i < n; i++) {
        const q = (c.rank + i) % n;
        c.copy(c.peerRecv(q) + at, call.recv + at, len * eb);
      }
    }
    // Every chunk has landed everywhere, and nobody still reads an input.
    c.arriveAll();
  },
};
