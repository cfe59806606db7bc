// A launch() module for the page's checks: rank 1's worker dies of an
// uncaught error while rank 0 waits for it in an all-reduce.
export default function dyingRank(ctx) {
  const buf = ctx.alloc('float32', 1024);
  if (ctx.rank === 1) {
    setTimeout(() => {
      throw new Error('rank 1 dies of an uncaught error');
    }, 50);
    return new Promise(() => {});
  }
  ctx.comm.allReduce(buf, buf, { timeoutMs: 30_000 });
  return 'rank 0 returned';
}
