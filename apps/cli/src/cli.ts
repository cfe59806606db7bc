import { readFileSync } from 'node:fs';
import type { Writable } from 'node:stream';
import yargs, { type Argv } from 'yargs';
import {
  COLLECTIVES,
  collectiveSizeLimit,
  SPECS,
  DEFAULT_MPI_PEER,
  kernelSizeLimit,
  launchedJob,
  parseSize,
  rmaSizeLimit,
  runCollectiveBench,
  runKernelBench,
  runRmaBench,
  runTune,
  sweep,
  TUNABLE,
  traceReport,
  type CollectiveName,
} from '@collective/bench';
import { algorithmNames, DTYPES, type Dtype, OPS, type ReduceOp } from '@collective/runtime';

/** The version of this package (package.json sits next to dist/, in the repository and in the tarball). */
export function cliVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: unknown };
  return typeof pkg.version === 'string' ? pkg.version : 'unknown';
}

// Numeric flags reach us as typed (yargs' number parsing is off) and are
// parsed here, so an error quotes the text ("-g must be a positive integer
// (got abc)"), never NaN.
const shown = (v: unknown) => (String(v) === '' ? 'nothing' : String(v));

function integer(flag: string, v: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const text = String(v).trim();
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  const kind = min === 0 ? 'a non-negative integer' : min === 1 ? 'a positive integer' : `an integer of at least ${min}`;
  if (!Number.isSafeInteger(n) || n < min) throw new Error(`${flag} must be ${kind} (got ${shown(v)})`);
  if (n > max) throw new Error(`${flag} must be at most ${max} (got ${shown(v)})`);
  return n;
}

function factor(flag: string, v: unknown): number {
  const text = String(v).trim();
  const n = /^\d+(\.\d+)?$/.test(text) ? Number(text) : NaN;
  if (!(n > 1)) throw new Error(`${flag} must be a number greater than 1 (got ${shown(v)})`);
  return n;
}

function connector(v: string): 'auto' | 'shm' | 'net' {
  if (v !== 'auto' && v !== 'shm' && v !== 'net') throw new Error(`--connector must be auto, shm or net (got ${v})`);
  return v;
}

function pick<T extends string>(flag: string, v: string, all: readonly T[]): T[] {
  if (v === 'all') return [...all];
  const parts = v.split(',');
  for (const p of parts) if (!(all as readonly string[]).includes(p)) throw new Error(`${flag} must be one of ${all.join(', ')} or all (got ${p})`);
  return parts as T[];
}

/** Every algorithm some collective offers, from the runtime's own table (hier included). */
function algoChoices(): string {
  const kinds = [...new Set(COLLECTIVES.map((c) => SPECS[c].kind).filter((k) => k !== 'sendRecv'))] as Parameters<typeof algorithmNames>[0][];
  return [...new Set(kinds.flatMap((k) => algorithmNames(k)))].join(', ');
}

function collectiveFlags(y: Argv) {
  return y
    .option('minbytes', { alias: 'b', type: 'string', default: '8', describe: 'smallest size in bytes (K/M/G suffixes)' })
    .option('maxbytes', { alias: 'e', type: 'string', default: '32M', describe: 'largest size in bytes' })
    .option('stepfactor', { alias: 'f', requiresArg: true, describe: 'multiply the size by this each step (default 2)' })
    .option('stepbytes', { alias: 'i', type: 'string', describe: 'add this many bytes each step instead of multiplying' })
    .option('ngpus', { alias: 'g', requiresArg: true, default: 2, describe: 'devices (worker threads) to run on; in a job of several processes, devices per process (the job has processes × -g)' })
    .option('iters', { alias: 'n', requiresArg: true, default: 0, describe: 'timed calls per size and placement, as nccl-tests (split into up to 5 batches; the median batch is reported); 0 picks enough for --min-time-ms' })
    .option('warmup_iters', { alias: 'w', requiresArg: true, default: 5, describe: 'untimed warm-up calls before timing, as nccl-tests; about 30 ms more untimed calls follow (the header says what ran)' })
    .option('check', { alias: 'c', requiresArg: true, default: 1, describe: 'verify results (0 or 1); any #wrong makes the exit code 1' })
    .option('op', { alias: 'o', type: 'string', default: 'sum', describe: `reduction: ${OPS.join(', ')} or all` })
    .option('datatype', { alias: 'd', type: 'string', default: 'float32', describe: `element type: ${DTYPES.join(', ')} or all` })
    .option('root', { alias: 'r', requiresArg: true, default: 0, describe: 'root rank of broadcast and reduce' })
    .option('algo', { type: 'string', describe: `force an algorithm: ${algoChoices()} (hier: across processes, steps inside and between them); which ones a collective has: its error says` })
    .option('proto', { type: 'string', describe: 'force a protocol: ll (small calls between shm peers) or simple; also COLLECTIVE_PROTO' })
    .option('connector', { type: 'string', describe: 'how devices reach each other: auto (shm inside a process), net (the fabric endpoint API even inside one process) or shm; also COLLECTIVE_CONNECTOR' })
    .option('min-time-ms', { requiresArg: true, default: 25, describe: 'with -n 0: time spent per size and mode' })
    .option('json', { type: 'string', describe: 'also write the results and the run (command, versions, machine, date) as JSON to this file' })
    .option('plot', { type: 'string', describe: 'also write an SVG chart of busbw and time against size' })
    .option('mpi', { type: 'string', describe: 'run the Open MPI peer side by side (default: the shipped peers/mpi_coll.c, built once into $COLLECTIVE_BENCH_CACHE or ~/.cache/collective-bench; or a path to mpi_coll.c or to a binary built from this version of it); in a job of several processes, process 0 runs it over tcp with a rank per device of the job' })
    .option('join', { type: 'boolean', describe: 'join the job a launcher started (collective-run, torchrun, mpirun, srun, RANK/WORLD_SIZE/MASTER_*): the default when its environment names more than one process; --no-join runs every process on its own' })
    .option('progress', { type: 'boolean', default: true, describe: 'progress line on stderr (only on a terminal)' });
}

export function buildCli(argv: string[], out: Writable): Argv {
  const runCollective = async (name: CollectiveName, a: Record<string, unknown>) => {
    const devices = integer('-g', a.ngpus, 1, 64);
    const root = integer('-r', a.root, 0);
    const join = a.join as boolean | undefined;
    // In a job, -r counts every process's devices, known once the processes have met.
    const joining = launchedJob(join) !== undefined;
    if (!joining && root >= devices) throw new Error(`-r must be a rank of the ${devices} devices, 0..${devices - 1} (got ${shown(a.root)})`);
    const check = String(a.check).trim();
    if (check !== '0' && check !== '1') throw new Error(`-c must be 0 or 1 (got ${shown(a.check)})`);
    const min = parseSize(a.minbytes as string, '-b');
    const max = parseSize(a.maxbytes as string, '-e', collectiveSizeLimit(devices));
    if (a.stepfactor !== undefined && a.stepbytes !== undefined) throw new Error('-f and -i both set the step; give one of them');
    const stepBytes = a.stepbytes === undefined ? 0 : parseSize(a.stepbytes as string, '-i');
    if (a.stepbytes !== undefined && stepBytes === 0) throw new Error('-i must be at least 1 byte');
    const mpi = a.mpi === undefined ? undefined : a.mpi === '' ? DEFAULT_MPI_PEER : (a.mpi as string);
    const result = await runCollectiveBench(
      {
        collective: name,
        sizes: sweep(min, max, a.stepfactor === undefined ? 2 : factor('-f', a.stepfactor), stepBytes),
        devices,
        iters: integer('-n', a.iters, 0),
        warmup: integer('-w', a.warmup_iters, 0),
        check: check === '1',
        ops: pick<ReduceOp>('-o', a.op as string, OPS),
        dtypes: pick<Dtype>('-d', a.datatype as string, DTYPES),
        root,
        minTimeMs: integer('--min-time-ms', a['min-time-ms'], 1),
        progress: a.progress as boolean,
        command: ['collective-bench', ...argv],
        ...(a.algo !== undefined && { algo: a.algo as string }),
        ...(a.proto !== undefined && { proto: a.proto as string }),
        ...(a.connector !== undefined && { connector: connector(a.connector as string) }),
        ...(a.json !== undefined && { json: a.json as string }),
        ...(a.plot !== undefined && { plot: a.plot as string }),
        ...(mpi !== undefined && { mpi }),
        ...(join !== undefined && { join }),
      },
      out,
    );
    if (result.wrong > 0) {
      process.exitCode = 1;
      throw new Error(`${result.wrong} wrong value(s)`);
    }
  };

  let y = yargs(argv)
    .parserConfiguration({ 'parse-numbers': false, 'parse-positional-numbers': false })
    .scriptName('collective-bench')
    .usage(
      '$0 [collective] [flags]\n\nnccl-tests-style benchmark of the collective runtime. Without a collective it runs all_reduce.\n\n' +
        'Across processes: started by a launcher (collective-run --nproc-per-node 2 collective-bench -g 1, mpirun -np 2 collective-bench -g 1, ' +
        'torchrun, srun), every process joins one communicator over all the devices of the job (shm inside a process, tcp between) and runs ' +
        'the same sweep; process 0 prints one table for the whole job (time: the slowest rank; #wrong: summed over every rank; busbw over ' +
        "the job's devices) and writes --json and --plot; the others print nothing unless they fail. -g is per process, -r counts the job's " +
        'devices, and --mpi runs Open MPI over tcp (--mca btl tcp,self) with one rank per device of the job.',
    )
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
        .option('sources', { requiresArg: true, default: 2, describe: 'inputs reduced per call' })
        .option('time-ms', { requiresArg: true, default: 200, describe: 'tinybench time per task' })
        .option('datatype', { alias: 'd', type: 'string', default: 'all', describe: `element types: ${DTYPES.join(', ')} or all` }),
    async (a) => {
      const sources = integer('--sources', a.sources, 1, 64);
      await runKernelBench(
        {
          bytes: parseSize(a.bytes, '--bytes', kernelSizeLimit(sources)),
          sources,
          timeMs: integer('--time-ms', a['time-ms'], 1),
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
        .option('stepfactor', { alias: 'f', requiresArg: true, default: 4 })
        .option('pingpongs', { requiresArg: true, default: 20000, describe: 'round trips timed for latency' })
        .option('min-time-ms', { requiresArg: true, default: 100, describe: 'time per bandwidth size' }),
    async (a) => {
      await runRmaBench(
        {
          sizes: sweep(parseSize(a.minbytes, '-b'), parseSize(a.maxbytes, '-e', rmaSizeLimit()), factor('-f', a.stepfactor)),
          pingPongs: integer('--pingpongs', a.pingpongs, 1),
          minTimeMs: integer('--min-time-ms', a['min-time-ms'], 1),
        },
        out,
      );
    },
  );
  y = y.command(
    'tune',
    'measure every algorithm and protocol per size and write the tuning table the runtime reads from COLLECTIVE_TUNER_FILE',
    (yy) =>
      yy
        .option('collectives', { type: 'string', default: TUNABLE.join(','), describe: `collectives to tune: ${TUNABLE.join(', ')}` })
        .option('ngpus', { alias: 'g', type: 'string', default: '2', describe: 'world sizes to tune, comma separated (e.g. 2,4,8)' })
        .option('minbytes', { alias: 'b', type: 'string', default: '8' })
        .option('maxbytes', { alias: 'e', type: 'string', default: '8M' })
        .option('stepfactor', { alias: 'f', requiresArg: true, default: 2 })
        .option('min-time-ms', { requiresArg: true, default: 25, describe: 'time per size and candidate' })
        .option('connector', { type: 'string', describe: 'auto, shm or net, as for the sweeps' })
        .option('out', { type: 'string', default: 'collective-tuning.json', describe: 'where to write the table' })
        .option('progress', { type: 'boolean', default: true }),
    async (a) => {
      const devices = String(a.ngpus).split(',').map((v) => integer('-g', v, 2, 64));
      const max = parseSize(a.maxbytes, '-e', collectiveSizeLimit(Math.max(...devices)));
      await runTune(
        {
          collectives: pick<CollectiveName>('--collectives', a.collectives, TUNABLE),
          devices,
          sizes: sweep(parseSize(a.minbytes, '-b'), max, factor('-f', a.stepfactor), 0),
          minTimeMs: integer('--min-time-ms', a['min-time-ms'], 1),
          out: a.out,
          progress: a.progress,
          ...(a.connector !== undefined && { connector: connector(a.connector) }),
        },
        out,
      );
    },
  );
  y = y.command(
    'trace <dir>',
    'read the flight records ranks wrote on a timeout or abort (COLLECTIVE_DUMP_DIR) and say which rank is stuck where',
    (yy) => yy.positional('dir', { type: 'string', describe: 'the directory the job wrote its flight records to' }),
    (a) => {
      const verdicts = traceReport(a.dir as string);
      for (const v of verdicts) for (const line of v.lines) out.write(`${line}\n`);
    },
  );
  return y.help().alias('help', 'h').version(cliVersion());
}
