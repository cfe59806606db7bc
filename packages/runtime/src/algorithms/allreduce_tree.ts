import type { Algorithm } from '../algorithm.js';
import { Buf } from '../connectors/connector.js';
import { DST_F32, SRC0_F32 } from '../kernels/reduce_kernels.js';
import type { Ref } from '../primitives.js';
import { Ch } from '../scratch_layout.js';

/**
 * Binary-tree all-reduce, pipelined by piece: partials flow up to rank 0
 * through the children's FIFO channels, the result flows down through the
 * parent's. Every node reduces [first child, its own input, second child],
 * so the result is the same bits everywhere. 16-bit float partials travel
 * as float32 and are rounded once, at the root.
 */
export const allreduceTree: Algorithm = {
  name: 'tree',
  proto: 'simple',
  code: 4,
  run(p, call) {
    const n = p.size;
    const r = p.rank;
    const parent = r === 0 ? -1 : (r - 1) >> 1;
    const upCh = r % 2 === 1 ? Ch.UP0 : Ch.UP1;
    const kids = [2 * r + 1, 2 * r + 2].filter((k) => k < n);
    const eb = call.elemBytes;
    const wide = call.dtype === 'float16' || call.dtype === 'bfloat16';
    const acc = wide ? 4 : eb;
    const per = Math.max(1, Math.floor(p.slotBytes / acc));
    const pieces = Math.max(1, Math.ceil(call.count / per));
    for (let k = 0; k < pieces; k++) {
      const start = k * per;
      const len = Math.min(per, call.count - start);
      const at = start * eb;
      const mine = p.local(Buf.SEND, at);
      const kid0 = kids.length > 0 ? p.inSlot(kids[0]!, Ch.UP0) : undefined;
      const kid1 = kids.length > 1 ? p.inSlot(kids[1]!, Ch.UP1) : undefined;
      const target = parent >= 0 ? p.outSlot(parent, upCh) : p.local(Buf.RECV, at);
      if (!wide) {
        const srcs = p.srcs(1 + kids.length);
        let i = 0;
        if (kid0 !== undefined) srcs[i++] = kid0;
        srcs[i++] = mine;
        if (kid1 !== undefined) srcs[i++] = kid1;
        p.reduce(call, target, srcs, len, 0, parent < 0 ? call.divisor : 1);
      } else {
        // float32 partial: in the parent's slot, or (at the root) in the first child's slot.
        const partial: Ref = parent >= 0 ? target : kid0!;
        const s = p.srcs(kid0 !== undefined ? 2 : 1);
        if (kid0 !== undefined) {
          s[0] = kid0;
          s[1] = mine;
          p.reduce(call, partial, s, len, SRC0_F32 | DST_F32);
        } else {
          s[0] = mine;
          p.reduce(call, partial, s, len, DST_F32);
        }
        if (kid1 !== undefined) {
          const t = p.srcs(2);
          t[0] = kid1;
          t[1] = partial;
          p.reduce(call, partial, t, len, 0, 1, 'float32');
        }
        if (parent < 0) {
          const f = p.srcs(1);
          f[0] = partial;
          p.reduce(call, target, f, len, SRC0_F32, call.divisor);
        }
      }
      if (kid0 !== undefined) p.release(kids[0]!, Ch.UP0);
      if (kid1 !== undefined) p.release(kids[1]!, Ch.UP1);
      if (parent >= 0) p.deliver(parent, upCh, len * acc);

      // Down: the result from the parent into the output, and on to the children.
      const bytes = len * eb;
      const out = p.local(Buf.RECV, at);
      if (parent >= 0) {
        const from = p.inSlot(parent, Ch.DOWN);
        p.copy(out, from, bytes);
        p.release(parent, Ch.DOWN);
      }
      for (const kid of kids) {
        p.copy(p.outSlot(kid, Ch.DOWN), out, bytes);
        p.deliver(kid, Ch.DOWN, bytes);
      }
    }
  },
};
