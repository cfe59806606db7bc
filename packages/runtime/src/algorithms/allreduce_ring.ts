import { type Algorithm, chunk } from '../algorithm.js';
import { Buf } from '../connectors/connector.js';
import { Ch } from '../scratch_layout.js';

/**
 * Ring all-reduce (NCCL's runRing): partials travel rightwards through the
 * FIFOs, each rank reducing its input in on the way (reduce-scatter, n-1
 * steps), and the rank that finishes a chunk sends it round the ring
 * (all-gather, n-1 steps). Large inputs are cut into pieces of one slot per
 * chunk. 16-bit float partials travel as float32 and are rounded once.
 */
export const allreduceRing: Algorithm = {
  name: 'ring',
  proto: 'simple',
  code: 3,
  run(p, call) {
    const n = p.size;
    const r = p.rank;
    const left = (r - 1 + n) % n;
    const right = (r + 1) % n;
    const eb = call.elemBytes;
    const wide = call.dtype === 'float16' || call.dtype === 'bfloat16';
    const perChunk = Math.max(1, Math.floor(p.slotBytes / (wide ? 4 : eb)));
    const perPiece = perChunk * n;
    const pieces = Math.max(1, Math.ceil(call.count / perPiece));
    for (let k = 0; k < pieces; k++) {
      const pStart = k * perPiece;
      const pLen = Math.min(perPiece, call.count - pStart);
      for (let s = 0; s < n; s++) {
        const [cs, cl] = chunk(pLen, n, (r - 1 - s + 2 * n) % n);
        const at = (pStart + cs) * eb;
        if (s === 0) p.send(call, right, Ch.RING, Buf.SEND, at, cl, wide);
        else if (s < n - 1) p.recvReduceSend(call, left, right, Ch.RING, Buf.SEND, at, cl, wide);
        else p.recvReduceCopySend(call, left, right, Ch.RING, Buf.SEND, at, Buf.RECV, at, cl, wide);
      }
      for (let t = 1; t < n; t++) {
        const [cs, cl] = chunk(pLen, n, (r - t + n) % n);
        const at = (pStart + cs) * eb;
        if (t < n - 1) p.recvCopySend(call, left, right, Ch.RING, Buf.RECV, at, cl);
        else p.recv(call, left, Ch.RING, Buf.RECV, at, cl);
      }
    }
  },
};
