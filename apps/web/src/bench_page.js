// collective-bench in the page: the same SPMD half the CLI launches
// (bench's collective_worker.js, which checks every value), one launch
// per size, rows formatted as nccl-tests prints them.
import { World } from '@collective/runtime';
import { SPECS } from '../../../packages/bench/dist/collectives.js';
import { footer, formatRow, header } from '../../../packages/bench/dist/format_table.js';
import { collectivePoolBytes } from '../../../packages/bench/dist/pool_limits.js';
import { sweep } from '../../../packages/bench/dist/sizes.js';

const moduleUrl = (name) => new URL(`./${name}.js`, import.meta.url);

/** nccl-tests' row from one size's sample (as run_collective.ts makes it, out-of-place and in-place). */
function toRow(s, spec, n, collective, op, root) {
  const algbw = (us) => (Number.isFinite(us) && us > 0 ? s.bytes / us / 1000 : NaN);
  const f = spec.busFactor(n);
  return {
    ...s,
    dtype: 'float',
    redop: spec.reducing ? op : 'none',
    root: spec.rooted ? root : -1,
    algo: 'tuned',
    collective,
    outAlgbw: algbw(s.outUs),
    outBusbw: algbw(s.outUs) * f,
    inAlgbw: algbw(s.inUs),
    inBusbw: algbw(s.inUs) * f,
  };
}

/**
 * Runs one collective over sizes minBytes..maxBytes (×2) on a World of
 * `devices` Web Workers; onRow sees every row as it comes. `world` reuses
 * an open World (the checks run several collectives on one).
 */
export async function runBench({ collective = 'all_reduce', devices = 2, minBytes = 8, maxBytes = 1 << 20, factor = 2, op = 'sum', root = 0, iters = 0, warmup = 2, minTimeMs = 50, onRow = () => {}, onLine = () => {}, world } = {}) {
  const spec = SPECS[collective];
  if (!spec) throw new Error(`collective must be one of ${Object.keys(SPECS).join(', ')} (got ${collective})`);
  const own = !world;
  const startMs = performance.now();
  world ??= await World.start({ devices, poolBytes: collectivePoolBytes(devices, maxBytes) });
  const startupMs = performance.now() - startMs;
  const rows = [];
  try {
    onLine(`# collective-bench ${collective} in a web page: ${world.size} Web Workers, World.start ${startupMs.toFixed(0)} ms`);
    for (const l of header(false)) onLine(l);
    for (const [i, size] of sweep(minBytes, maxBytes, factor).entries()) {
      const args = { collective, sizes: [size], dtype: 'float32', op, root, iters, warmup, check: true, minTimeMs, ...(i === 0 && { settleMs: 200 }) };
      const results = await world.launch(moduleUrl('collective_worker'), args);
      const row = toRow(results[0].samples[0], spec, world.size, collective, op, root);
      rows.push(row);
      onLine(formatRow(row));
      onRow(row);
    }
    for (const l of footer(rows)) onLine(l);
  } finally {
    if (own) await world.close();
  }
  return { rows, startupMs };
}
