import type { Writable } from 'node:stream';
import yargs, { type Argv } from 'yargs';
import { COLLECTIVES, parseSize, runCollectiveBench, runKernelBench, runRmaBench, sweep, type CollectiveName } from '@collective/bench';
import { DTYPES, type Dtype, OPS, type ReduceOp } from '@collective/runtime';

const positiveInt = (flag: string, v: unknown): number => {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`${flag} must be a positive integer (got ${String(v)})`);
  return n;
};
const nonNegativeInt = (flag: string, v: unknown): number => {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`${flag} must be a non-negative integer (got ${String(v)})`);
  return n;
};

function pick<T extends string>(flag: string, v: string, all: readonly T[]): T[] {
  if (v === 'all') return [...all];
  const parts = v.split(',');
  for (const p of parts) if (!(all as readonly string[]).includes(p)) throw new Error(`${flag} must be one of ${all.join(', ')} or all (got ${p})`);
  return parts as T[];
}

function collectiveFlags(y: Argv) {
  return y
    .option('minbytes', { alias: 'b', type: 'string', default: '8', describe: 'smallest size in bytes (K/M/G suffixes)' })
    .option('maxbytes', { alias: 'e', type: 'string', default: '32M', describe: 'largest size in bytes' })
    .option('stepfactor', { alias: 'f', type: 'number', describe: 'multiply the size by this each step (default 2)' })
    .option('stepbytes', { alias: 'i', type: 'string', describe: 'add this many bytes each step instead of multiplying' })
    .option('ngpus', { alias: 'g', type: 'number', default: 2, describe: 'devices (worker threads) to run on' })
    .option('iters', { alias: 'n', type: 'number', default: 0, describe: 'timed iterations per size; 0 picks enough for --min-time-ms' })
    .option('warmup_iters', { alias: 'w', type: 'number', default: 5, describe: 'untimed iterations before timing' })
    .option('check', { alias: 'c', type: 'number', default: 1, describe: 'verify results (0 or 1); any #wrong makes the exit code 1' })
    .option('op', { alias: 'o', type: 'string', default: 'sum', describe: `reduction: ${OPS.join(', ')} or all` })
    .option('datatype', { alias: 'd', type: 'string', default: 'float32', describe: `element type: ${DTYPES.join(', ')} or all` })
    .option('root', { alias: 'r', type: 'number', default: 0, describe: 'root rank of broadcast and reduce' })
    .option('algo', { type: 'string', describe: 'force an algorithm (oneshot, twoshot, ring, tree, direct)' })
    .option('min-time-ms', { type: 'number', default: 25, describe: 'with -n 0: time spent per size and mode' })
    .option('json', { type: 'string', describe: 'also write the results as JSON to this file' })
    .option('plot', { type: 'string', describe: 'also write an SVG chart of busbw and time against size' })
    .option('mpi', { type: 'string', describe: 'run the Open MPI peer (mpi_coll.c or its binary) in the same run, side by side' })
    .option('progress', { type: 'boolean', default: true, describe: 'progress line on stderr (only on a terminal)' });
}

export function buildCli(argv: string[], out: Writable): Argv {
  const runCollective = async (name: CollectiveName, a: Record<string, unknown>) => {
    const min = parseSize(a.minbytes as string, '-b');
    const max = parseSize(a.maxbytes as string, '-e');
    if (a.stepfactor !== undefined && a.stepbytes !== undefined) throw new Error('-f and -i both set the step; give one of them');
    const stepBytes = a.stepbytes === undefined ? 0 : parseSize(a.stepbytes as string, '-i');
    if (a.stepbytes !== undefined && stepBytes === 0) throw new Error('-i must be at least 1 byte');
    const check = Number(a.check);
    if (check !== 0 && check !== 1) throw new Error(`-c must be 0 or 1 (got ${String(a.check)})`);
    const devices = positiveInt('-g', a.ngpus);
    if (devices > 64) throw new Error(`-g must be at most 64 (got ${devices})`);
    const result = await runCollectiveBench(
      {
        collective: name,
        sizes: sweep(min, max, a.stepfactor === undefined ? 2 : Number(a.stepfactor), stepBytes),
        devices,
        iters: nonNegativeInt('-n', a.iters),
        warmup: nonNegativeInt('-w', a.warmup_iters),
        check: check === 1,
        ops: pick<ReduceOp>('-o', a.op as string, OPS),
        dtypes: pick<Dtype>('-d', a.datatype as string, DTYPES),
        root: nonNegativeInt('-r', a.root),
        minTimeMs: positiveInt('--min-time-ms', a['min-time-ms']),
        progress: a.progress as boolean,
        ...(a.algo !== undefined && { algo: a.algo as string }),
        ...(a.json !== undefined && { json: a.json as string }),
        ...(a.plot !== undefined && { plot: a.plot as string }),
        ...(a.mpi !== undefined && { mpi: a.mpi as string }),
      },
      out,
    );
    if (result.wrong > 0) {
      process.exitCode = 1;
      throw new Error(`${result.wrong} wrong value(s)`);
    }
  };

  let y = yargs(argv)
    .scriptName('collective-bench')
    .usage('$0 [collective] [flags]\n\nnccl-tests-style benchmark of the collective runtime. Without a collective it runs all_reduce.')
    .strict()
    .recommendCommands()
    .wrap(Math.min(110, process.stdout.columns ?? 110))
    .fail((msg, err, yy) => {
      if (err) throw err;
      process.stderr.write(`${yy.help() && ''}collective-bench: ${msg}\nRun collective-bench --help for the flags.\n`);
      process.exit(1);
    });
  y = y.command(['$0', 'all_reduce'], 'all-reduce sweep (the default)', collectiveFlags, (a) => runCollective('all_reduce', a));
  for (const name of COLLECTIVES.filter((c) => c !== 'all_reduce')) {
    y = y.command(name, `${name} sweep`, collectiveFlags, (a) => runCollective(name, a));
  }
  y = y.command(
    'kernels',
    'tinybench micro-benchmarks of the reduce kernels, SIMD against scalar, per dtype',
    (yy) =>
      yy
        .option('bytes', { type: 'string', default: '256K', describe: 'bytes per source buffer' })
        .option('sources', { type: 'number', default: 2, describe: 'inputs reduced per call' })
        .option('time-ms', { type: 'number', default: 200, describe: 'tinybench time per task' })
        .option('datatype', { alias: 'd', type: 'string', default: 'all', describe: `element types: ${DTYPES.join(', ')} or all` }),
    async (a) => {
      await runKernelBench(
        {
          bytes: parseSize(a.bytes, '--bytes'),
          sources: positiveInt('--sources', a.sources),
          timeMs: positiveInt('--time-ms', a['time-ms']),
          dtypes: pick<Dtype>('-d', a.datatype, DTYPES),
        },
        out,
      );
    },
  );
  y = y.command(
    'rma',
    'transport benchmark: RMA write bandwidth and small-message latency between two devices',
    (yy) =>
      yy
        .option('minbytes', { alias: 'b', type: 'string', default: '4K' })
        .option('maxbytes', { alias: 'e', type: 'string', default: '64M' })
        .option('stepfactor', { alias: 'f', type: 'number', default: 4 })
        .option('pingpongs', { type: 'number', default: 20000, describe: 'round trips timed for latency' })
        .option('min-time-ms', { type: 'number', default: 100, describe: 'time per bandwidth size' }),
    async (a) => {
      await runRmaBench(
        {
          sizes: sweep(parseSize(a.minbytes, '-b'), parseSize(a.maxbytes, '-e'), Number(a.stepfactor)),
          pingPongs: positiveInt('--pingpongs', a.pingpongs),
          minTimeMs: positiveInt('--min-time-ms', a['min-time-ms']),
        },
        out,
      );
    },
  );
  return y.help().alias('help', 'h').version(false);
}
