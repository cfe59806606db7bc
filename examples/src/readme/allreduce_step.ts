import type { DeviceContext } from '@collective/runtime';

// Runs in every device worker of the World; ctx.rank is 0 … ctx.size − 1.
export default function allReduceStep(ctx: DeviceContext): number[] {
  const { scale } = ctx.args as { scale: number };
  const grad = ctx.alloc('float32', 4); // device memory (a Float32Array), freed when this function returns
  grad.fill((ctx.rank + 1) * scale);
  ctx.comm.allReduce(grad, grad, { op: 'sum' }); // in place; every rank gets the same bits
  return Array.from(grad);
}
