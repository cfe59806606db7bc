// A launch() module for the page's checks: each device reports its rank and the World's size.
export default function worldSize(ctx) {
  return { rank: ctx.rank, size: ctx.size };
}
