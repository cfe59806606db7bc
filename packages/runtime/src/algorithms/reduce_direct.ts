import { type Algorithm, reduceEveryInput } from '../algorithm.js';

/** The root reduces every input into its output, a piece at a time. */
export const reduceDirect: Algorithm = {
  name: 'direct',
  proto: 'simple',
  code: 5,
  run(p, call) {
    if (p.rank === call.root) reduceEveryInput(p, call);
    p.barrier();
  },
};
