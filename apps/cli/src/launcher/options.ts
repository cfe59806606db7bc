import yargs from 'yargs';

/** What one collective-run agent (one per node) does. */
export interface RunPlan {
  nprocPerNode: number;
  nnodes: number;
  nodeRank: number;
  /** address of node 0, where the store is hosted */
  masterAddr: string;
  /** store port; 0 picks a free one (single node only) */
  masterPort: number;
  /** where node 0's store listens: 'any' (every interface) or an address; undefined: masterAddr */
  storeListen?: string;
  /**
   * whether node 0's store admits only clients that prove the job secret;
   * undefined: required when the user gave a secret, optional otherwise
   * (torch's own clients, e.g. a PyTorch job's workers, cannot prove one)
   */
  storeAuth?: 'required' | 'optional';
  standalone: boolean;
  runId: string;
  /** how long agents wait for each other */
  rdzvTimeoutMs: number;
  /** grace between SIGTERM and SIGKILL when stopping workers */
  termTimeoutMs: number;
  /** how often the job's workers are all restarted after a failure before the job fails (torchrun's --max-restarts) */
  maxRestarts: number;
  /** prefix every output line with the worker's rank */
  prefix: boolean;
  command: string;
  args: string[];
}

export class UsageError extends Error {}

const integer = (flag: string, v: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number => {
  const s = String(v);
  const n = Number(s);
  if (!/^\d+$/.test(s) || !Number.isSafeInteger(n) || n < min || n > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? (min > 0 ? 'a positive integer' : 'a non-negative integer') : `an integer from ${min} to ${max}`;
    throw new UsageError(`${flag} must be ${range} (got ${s})`);
  }
  return n;
};

const seconds = (flag: string, v: unknown): number => {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`${flag} must be a positive number of seconds (got ${String(v)})`);
  return Math.round(n * 1000);
};

export const RUN_USAGE = `$0 [flags] <command> [args...]

torchrun-like launcher: starts --nproc-per-node workers on this node with
RANK, LOCAL_RANK, WORLD_SIZE, LOCAL_WORLD_SIZE, GROUP_RANK, MASTER_ADDR,
MASTER_PORT and TORCHELASTIC_* set, hosts the job's TCPStore on node 0 (the
agent store: torch's env:// and our rendezvous() both use it), prefixes every
output line with the rank, and stops every worker when one fails, exiting with
its code. With --max-restarts N a failure instead stops every node's workers
and starts them all again, up to N times, under the next attempt number
(COLLECTIVE_RESTART_COUNT and TORCHELASTIC_RESTART_COUNT, store keys under
/worker/attempt_<N>); a job that checkpoints resumes from its checkpoint.
A command ending in .js, .mjs or .cjs is run with this node.

  $0 --nproc-per-node 4 node train.js
  $0 --nproc-per-node 4 --max-restarts 3 node train.js
  $0 --nnodes 2 --node-rank 0 --master-addr 10.0.0.1 --master-port 29500 --nproc-per-node 2 python3 train.py`;

/** Parses collective-run's command line; flags stop at the command. */
export function parseRunArgs(argv: readonly string[]): RunPlan {
  const a = yargs([...argv])
    .scriptName('collective-run')
    .usage(RUN_USAGE)
    .parserConfiguration({ 'halt-at-non-option': true, 'camel-case-expansion': false })
    .strict()
    .exitProcess(false)
    .help(false)
    .version(false)
    .option('nproc-per-node', { alias: 'nproc_per_node', type: 'string', default: '1', describe: 'workers on this node' })
    .option('nnodes', { type: 'string', default: '1', describe: 'nodes in the job (one collective-run per node)' })
    .option('node-rank', { alias: 'node_rank', type: 'string', default: '0', describe: "this node's index; node 0 hosts the store" })
    .option('master-addr', { alias: 'master_addr', type: 'string', default: '127.0.0.1', describe: 'address of node 0, where the store is hosted' })
    .option('master-port', { alias: 'master_port', type: 'string', default: '29500', describe: 'port of the store (0: any free port, single node only)' })
    .option('store-listen', { alias: 'store_listen', type: 'string', describe: "where node 0's store listens: any (every interface) or an address of node 0 (default: --master-addr)" })
    .option('store-auth', { alias: 'store_auth', type: 'string', describe: "required: node 0's store admits only clients that prove the job secret; optional: torch's clients too (default: required when COLLECTIVE_JOB_SECRET(_FILE) is set)" })
    .option('standalone', { type: 'boolean', default: false, describe: 'single node on 127.0.0.1 with a free port' })
    .option('run-id', { alias: ['run_id', 'rdzv-id', 'rdzv_id'], type: 'string', default: 'none', describe: 'job id; every node must give the same' })
    .option('rdzv-timeout', { alias: 'rdzv_timeout', type: 'string', default: '300', describe: 'seconds the nodes wait for each other' })
    .option('term-timeout', { type: 'string', default: '10', describe: 'seconds between SIGTERM and SIGKILL when stopping workers' })
    .option('max-restarts', { alias: 'max_restarts', type: 'string', default: '0', describe: 'restart every worker of the job up to N times after a failure (every node must give the same)' })
    .option('prefix', { type: 'boolean', default: true, describe: 'prefix output lines with [rank N] (--no-prefix turns it off)' })
    .fail((msg, err) => {
      throw err ?? new UsageError(msg);
    })
    .parseSync();
  const positional = a._.map(String);
  const [command, ...args] = positional;
  if (command === undefined) throw new UsageError('give the command to run, e.g. collective-run --nproc-per-node 2 node train.js');
  const nnodes = integer('--nnodes', a.nnodes, 1);
  const plan: RunPlan = {
    nprocPerNode: integer('--nproc-per-node', a['nproc-per-node'], 1, 4096),
    nnodes,
    nodeRank: integer('--node-rank', a['node-rank'], 0),
    masterAddr: String(a['master-addr']),
    masterPort: integer('--master-port', a['master-port'], 0, 65535),
    standalone: Boolean(a.standalone),
    runId: String(a['run-id']),
    rdzvTimeoutMs: seconds('--rdzv-timeout', a['rdzv-timeout']),
    termTimeoutMs: seconds('--term-timeout', a['term-timeout']),
    maxRestarts: integer('--max-restarts', a['max-restarts'], 0, 1_000_000),
    prefix: Boolean(a.prefix),
    command,
    args,
  };
  if (a['store-listen'] !== undefined) {
    const listen = String(a['store-listen']).trim();
    if (listen === '') throw new UsageError('--store-listen must be any or an address of node 0');
    plan.storeListen = listen.toLowerCase() === 'any' ? 'any' : listen;
  }
  if (a['store-auth'] !== undefined) {
    const auth = String(a['store-auth']);
    if (auth !== 'required' && auth !== 'optional') throw new UsageError(`--store-auth must be required or optional (got ${auth})`);
    plan.storeAuth = auth;
  }
  if (plan.nodeRank >= nnodes) throw new UsageError(`--node-rank must be less than --nnodes (got --node-rank ${plan.nodeRank} with --nnodes ${nnodes})`);
  if (plan.standalone) {
    if (nnodes !== 1) throw new UsageError(`--standalone runs a single node; drop it or --nnodes ${nnodes}`);
    plan.masterAddr = '127.0.0.1';
    plan.masterPort = 0;
    if (plan.storeListen !== undefined) throw new UsageError('--standalone listens on 127.0.0.1; drop --store-listen');
  }
  if (plan.masterPort === 0 && nnodes > 1) throw new UsageError('--master-port 0 (any free port) only works on a single node: the other nodes must know the port');
  if (plan.masterAddr.trim() === '') throw new UsageError('--master-addr must be a host name or address');
  return plan;
}
