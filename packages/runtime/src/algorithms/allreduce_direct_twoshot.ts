import { type Algorithm, chunk } from '../algorithm.js';

/** Bytes per pipeline piece: small enough that a peer reads the reduced chunk from cache. */
const PIECE_BYTES = 256 * 1024;

/**
 * Reduce-scatter then all-gather straight over the users' buffers: rank r
 * reduces chunk r of every input into its output, then copies the other
 * chunks from their owners' outputs. Zero-copy; each chunk is reduced once.
 */
export const allreduceTwoshot: Algorithm = {
  name: 'twoshot',
  run(c, call) {
    const eb = call.elemBytes;
    const n = c.size;
    const perPiece = Math.max(n, Math.floor(PIECE_BYTES / eb));
    const srcs: number[] = new Array(n);
    for (let start = 0; start < call.count; start += perPiece) {
      const len = Math.min(perPiece, call.count - start);
      const [s, l] = chunk(len, n, c.rank);
      const at = (start + s) * eb;
      for (let q = 0; q < n; q++) srcs[q] = c.peerSend(q) + at;
      c.kernels.reduce(call.op, call.dtype, call.recv + at, srcs, l, c.divisor);
      c.arriveAll();
      for (let q = 0; q < n; q++) {
        if (q === c.rank) continue;
        const [qs, ql] = chunk(len, n, q);
        const off = (start + qs) * eb;
        c.copy(call.recv + off, c.peerRecv(q) + off, ql * eb);
      }
    }
    // Nobody returns while a peer may still read its output.
    c.arriveAll();
  },
};
