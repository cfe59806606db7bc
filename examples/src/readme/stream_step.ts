import type { DeviceContext, Work } from '@collective/runtime';

export default async function streamStep(ctx: DeviceContext): Promise<string> {
  const a = ctx.alloc('float32', 1 << 16);
  const b = ctx.alloc('float32', 1 << 16);
  a.fill(ctx.rank);
  b.fill(ctx.rank + 1);
  // Both calls are queued on this device's stream, in this order, and run while this thread goes on.
  const first: Work = ctx.stream.allReduceAsync(a, a, { op: 'sum' });
  const second = ctx.stream.allReduceAsync(b, b, { op: 'max' });
  let busy = 0;
  for (let i = 0; i < 100_000; i++) busy += Math.sqrt(i); // work that must not touch a or b until their Work is done
  first.wait(10_000); // blocks; throws the call's error, or ETIMEDOUT if it still runs after 10 s
  await second.promise(); // the same for async code: the event loop keeps running
  ctx.stream.synchronize(); // every call issued so far
  return `rank ${ctx.rank}: a[0]=${a[0]} b[0]=${b[0]} done=${first.test() && second.test()} busy=${busy > 0}`;
}
