import { RendezvousError } from './errors.js';
import { expandNodelist, expandTasksPerNode } from './slurm_nodelist.js';

export type LauncherName = 'collective-run' | 'torchrun' | 'env' | 'openmpi' | 'mpich' | 'slurm' | 'single';
export type DialectChoice = 'auto' | 'legacy' | 'v2';

/** Where the job's store lives and who hosts it. */
export type LaunchStoreSpec =
  | { kind: 'hash' }
  | {
      kind: 'tcp';
      /** address clients connect to */
      host: string;
      port: number;
      /** true when this process hosts the TCPStore server */
      serve: boolean;
      /**
       * address the server listens on, when already decided (a loopback store, or
       * COLLECTIVE_STORE_LISTEN=ADDRESS); undefined: the address `host` names,
       * which must be one of the hosting machine's (checked when it starts)
       */
      listenHost?: string;
      /** COLLECTIVE_STORE_LISTEN=any: the server listens on every interface */
      listenAny?: true;
      /** key prefix every process of the job uses (torchrun's agent store: /worker/attempt_N) */
      prefix?: string;
      dialect: DialectChoice;
      /** which variables decided the address, for error messages */
      source: string;
    };

/** What the launcher told this process. */
export interface LaunchEnv {
  launcher: LauncherName;
  rank: number;
  worldSize: number;
  localRank?: number;
  localWorldSize?: number;
  /** index of this node among the job's nodes, when the launcher says */
  nodeRank?: number;
  nodeCount?: number;
  restartCount: number;
  /** the same on every process of one job */
  runId: string;
  store: LaunchStoreSpec;
}

export interface ResolveContext {
  /** parent process id (MPICH's Hydra proxy is the one parent of a node's ranks); default process.ppid */
  parentPid?: number;
}

type Env = Readonly<Record<string, string | undefined>>;

const DERIVED_PORT_BASE = 20000;
const DERIVED_PORT_SPAN = 12000;

/**
 * A port in 20000..31999 derived from a job identifier, below Linux's
 * ephemeral range, so every process of a job computes the same one and two
 * jobs on the same nodes rarely meet (FNV-1a).
 */
export function derivePort(jobKey: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < jobKey.length; i++) {
    h ^= jobKey.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return DERIVED_PORT_BASE + (h % DERIVED_PORT_SPAN);
}

class Reader {
  constructor(
    readonly env: Env,
    readonly launcher: LauncherName,
  ) {}

  fail(message: string): never {
    throw new RendezvousError('EINVAL', `${message} (launcher detected: ${this.launcher})`);
  }

  missing(name: string, hint = ''): never {
    throw new RendezvousError('ENOENT', `${name} is not set${hint ? `; ${hint}` : ''} (launcher detected: ${this.launcher})`);
  }

  str(name: string): string | undefined {
    const v = this.env[name];
    return v === undefined || v.trim() === '' ? undefined : v.trim();
  }

  int(name: string, min: number): number | undefined {
    const v = this.str(name);
    if (v === undefined) return undefined;
    if (!/^\d+$/.test(v) || !Number.isSafeInteger(Number(v)) || Number(v) < min) {
      this.fail(`${name} must be ${min > 0 ? 'a positive' : 'a non-negative'} integer (got ${JSON.stringify(v)})`);
    }
    return Number(v);
  }

  need(name: string, min: number, hint = ''): number {
    return this.int(name, min) ?? this.missing(name, hint);
  }

  port(name: string): number | undefined {
    const p = this.int(name, 1);
    if (p !== undefined && p > 65535) this.fail(`${name} must be a port from 1 to 65535 (got ${p})`);
    return p;
  }

  below(nameA: string, a: number, nameB: string, b: number): void {
    if (a >= b) this.fail(`${nameA}=${a} must be less than ${nameB}=${b}`);
  }
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/i;

/** `host:port` or `[v6]:port`, as NCCL_COMM_ID. */
function parseCommId(r: Reader, value: string): { host: string; port: number } {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(value) ?? /^([^:[\]]+):(\d+)$/.exec(value);
  const port = m ? Number(m[2]) : NaN;
  if (!m || !(port >= 1 && port <= 65535)) r.fail(`COLLECTIVE_COMM_ID must be host:port or [ipv6]:port, as NCCL_COMM_ID (got ${JSON.stringify(value)})`);
  return { host: m[1] as string, port };
}

function tcp(r: Reader, rank: number, host: string, port: number, source: string, extra: { serve?: boolean; prefix?: string; listenHost?: string } = {}): LaunchStoreSpec {
  const dialect = (r.str('COLLECTIVE_STORE_DIALECT') ?? 'auto') as DialectChoice;
  if (!['auto', 'legacy', 'v2'].includes(dialect)) r.fail(`COLLECTIVE_STORE_DIALECT must be auto, legacy or v2 (got ${JSON.stringify(dialect)})`);
  const spec: LaunchStoreSpec = { kind: 'tcp', host, port, serve: extra.serve ?? rank === 0, dialect, source };
  const asked = r.str('COLLECTIVE_STORE_LISTEN');
  const listenHost = asked ?? extra.listenHost ?? (LOOPBACK.test(host) ? host : undefined);
  if (spec.serve && asked?.toLowerCase() === 'any') spec.listenAny = true;
  else if (listenHost !== undefined && spec.serve) spec.listenHost = listenHost === 'localhost' ? '127.0.0.1' : listenHost;
  if (extra.prefix !== undefined) spec.prefix = extra.prefix;
  return spec;
}

/** COLLECTIVE_COMM_ID wins over whatever the launcher implies: rank 0 hosts the store there. */
function commIdStore(r: Reader, rank: number): LaunchStoreSpec | undefined {
  const id = r.str('COLLECTIVE_COMM_ID');
  if (id === undefined) return undefined;
  const { host, port } = parseCommId(r, id);
  return tcp(r, rank, host, port, 'COLLECTIVE_COMM_ID');
}

/** MASTER_ADDR and MASTER_PORT, both or neither. */
function masterAddress(r: Reader): { host: string; port: number } | undefined {
  const addr = r.str('MASTER_ADDR');
  const port = r.port('MASTER_PORT');
  if (addr === undefined && port === undefined) return undefined;
  if (addr === undefined) r.missing('MASTER_ADDR', `MASTER_PORT=${port} is set, give the address of rank 0's host with it`);
  if (port === undefined) r.missing('MASTER_PORT', `MASTER_ADDR=${addr} is set, give the store's port with it`);
  return { host: addr, port };
}

function torchrunLike(env: Env): LaunchEnv {
  const elastic = ['TORCHELASTIC_RUN_ID', 'TORCHELASTIC_USE_AGENT_STORE', 'TORCHELASTIC_RESTART_COUNT', 'LOCAL_RANK', 'GROUP_RANK'].some((n) => env[n] !== undefined);
  const launcher: LauncherName = env.COLLECTIVE_LAUNCHER === 'collective-run' ? 'collective-run' : elastic ? 'torchrun' : 'env';
  const r: Reader = new Reader(env, launcher);
  const rank = r.need('RANK', 0, 'it is set with WORLD_SIZE by torchrun, collective-run or the job spec');
  const worldSize = r.need('WORLD_SIZE', 1, 'it is set with RANK by torchrun, collective-run or the job spec');
  r.below('RANK', rank, 'WORLD_SIZE', worldSize);
  const out: LaunchEnv = { launcher, rank, worldSize, restartCount: 0, runId: r.str('TORCHELASTIC_RUN_ID') ?? 'env', store: { kind: 'hash' } };
  const localRank = r.int('LOCAL_RANK', 0);
  const localWorldSize = r.int('LOCAL_WORLD_SIZE', 1);
  const nodeRank = r.int('GROUP_RANK', 0);
  const nodeCount = r.int('GROUP_WORLD_SIZE', 1);
  if (localWorldSize !== undefined && localWorldSize > worldSize) r.fail(`LOCAL_WORLD_SIZE=${localWorldSize} must not exceed WORLD_SIZE=${worldSize}`);
  if (localRank !== undefined && localWorldSize !== undefined) r.below('LOCAL_RANK', localRank, 'LOCAL_WORLD_SIZE', localWorldSize);
  if (localRank !== undefined && localWorldSize === undefined) r.below('LOCAL_RANK', localRank, 'WORLD_SIZE', worldSize);
  if (nodeRank !== undefined && nodeCount !== undefined) r.below('GROUP_RANK', nodeRank, 'GROUP_WORLD_SIZE', nodeCount);
  if (localRank !== undefined) out.localRank = localRank;
  if (localWorldSize !== undefined) out.localWorldSize = localWorldSize;
  if (nodeRank !== undefined) out.nodeRank = nodeRank;
  if (nodeCount !== undefined) out.nodeCount = nodeCount;

  const agent = /^(true|1)$/i.test(r.str('TORCHELASTIC_USE_AGENT_STORE') ?? '');
  const restart = agent ? r.need('TORCHELASTIC_RESTART_COUNT', 0, 'with TORCHELASTIC_USE_AGENT_STORE=True the key prefix is /worker/attempt_<TORCHELASTIC_RESTART_COUNT>') : (r.int('TORCHELASTIC_RESTART_COUNT', 0) ?? 0);
  out.restartCount = restart;
  const commId = commIdStore(r, rank);
  if (commId) out.store = commId;
  else {
    const master = masterAddress(r);
    if (master === undefined && worldSize > 1) r.missing('MASTER_ADDR', 'with WORLD_SIZE > 1 the store address comes from MASTER_ADDR and MASTER_PORT (or COLLECTIVE_COMM_ID=host:port)');
    if (master !== undefined) {
      // The agent (torchrun's, or collective-run) hosts the store; workers are clients
      // under the attempt's prefix, exactly as torch's env:// rendezvous does.
      out.store = agent
        ? tcp(r, rank, master.host, master.port, 'MASTER_ADDR/MASTER_PORT (agent store)', { serve: false, prefix: `/worker/attempt_${restart}` })
        : tcp(r, rank, master.host, master.port, 'MASTER_ADDR/MASTER_PORT');
      if (out.runId === 'env') out.runId = `env-${master.host}:${master.port}`;
    }
  }
  return out;
}

/** Without MASTER_ADDR, an MPI job on one node hosts its store on 127.0.0.1 at a port derived from the job id. */
function mpiStore(r: Reader, rank: number, worldSize: number, localWorldSize: number | undefined, localSizeVar: string, jobKey: string | undefined, jobKeyVars: string): LaunchStoreSpec {
  const commId = commIdStore(r, rank);
  if (commId) return commId;
  const addr = r.str('MASTER_ADDR');
  const port = r.port('MASTER_PORT');
  if (addr !== undefined) {
    if (port === undefined) r.missing('MASTER_PORT', `MASTER_ADDR=${addr} is set, pass the port too (mpirun -x MASTER_PORT=<port>)`);
    return tcp(r, rank, addr, port, 'MASTER_ADDR/MASTER_PORT');
  }
  if (worldSize === 1) return { kind: 'hash' };
  if (localWorldSize === undefined) r.missing(localSizeVar, 'without it or MASTER_ADDR the store address cannot be decided');
  if (localWorldSize !== worldSize) {
    r.missing('MASTER_ADDR', `the job spans several nodes (${localSizeVar}=${localWorldSize} < ${worldSize} ranks): pass the store address, e.g. mpirun -x MASTER_ADDR=<host of rank 0> -x MASTER_PORT=<free port>, or set COLLECTIVE_COMM_ID=host:port`);
  }
  if (port !== undefined) return tcp(r, rank, '127.0.0.1', port, 'MASTER_PORT on 127.0.0.1 (single node)');
  if (jobKey === undefined) r.missing(jobKeyVars.split(' or ')[0] as string, `neither ${jobKeyVars} nor MASTER_ADDR/MASTER_PORT is set, so no store port can be agreed on`);
  return tcp(r, rank, '127.0.0.1', derivePort(jobKey), `127.0.0.1 with a port derived from ${jobKeyVars} (single node)`, { listenHost: '127.0.0.1' });
}

function openMpi(env: Env): LaunchEnv {
  const r: Reader = new Reader(env, 'openmpi');
  const rank = r.need('OMPI_COMM_WORLD_RANK', 0);
  const worldSize = r.need('OMPI_COMM_WORLD_SIZE', 1);
  r.below('OMPI_COMM_WORLD_RANK', rank, 'OMPI_COMM_WORLD_SIZE', worldSize);
  const localRank = r.int('OMPI_COMM_WORLD_LOCAL_RANK', 0);
  const localWorldSize = r.int('OMPI_COMM_WORLD_LOCAL_SIZE', 1);
  if (localWorldSize !== undefined && localWorldSize > worldSize) r.fail(`OMPI_COMM_WORLD_LOCAL_SIZE=${localWorldSize} must not exceed OMPI_COMM_WORLD_SIZE=${worldSize}`);
  if (localRank !== undefined && localWorldSize !== undefined) r.below('OMPI_COMM_WORLD_LOCAL_RANK', localRank, 'OMPI_COMM_WORLD_LOCAL_SIZE', localWorldSize);
  const jobId = r.str('OMPI_MCA_ess_base_jobid') ?? r.str('PMIX_NAMESPACE');
  // The launcher daemon's URI tells two mpirun runs with a recycled job id apart.
  const jobKey = jobId === undefined ? undefined : `ompi:${jobId}|${r.str('OMPI_MCA_orte_hnp_uri') ?? ''}`;
  const out: LaunchEnv = {
    launcher: 'openmpi',
    rank,
    worldSize,
    restartCount: 0,
    runId: `openmpi-${jobId ?? 'unknown'}`,
    store: mpiStore(r, rank, worldSize, localWorldSize, 'OMPI_COMM_WORLD_LOCAL_SIZE', jobKey, 'OMPI_MCA_ess_base_jobid or PMIX_NAMESPACE'),
  };
  if (localRank !== undefined) out.localRank = localRank;
  if (localWorldSize !== undefined) out.localWorldSize = localWorldSize;
  const nodes = r.int('OMPI_MCA_orte_num_nodes', 1);
  if (nodes !== undefined) out.nodeCount = nodes;
  return out;
}

function mpich(env: Env, context: ResolveContext): LaunchEnv {
  const r: Reader = new Reader(env, 'mpich');
  const rank = r.need('PMI_RANK', 0);
  const worldSize = r.need('PMI_SIZE', 1);
  r.below('PMI_RANK', rank, 'PMI_SIZE', worldSize);
  const localRank = r.int('MPI_LOCALRANKID', 0);
  const localWorldSize = r.int('MPI_LOCALNRANKS', 1);
  if (localWorldSize !== undefined && localWorldSize > worldSize) r.fail(`MPI_LOCALNRANKS=${localWorldSize} must not exceed PMI_SIZE=${worldSize}`);
  if (localRank !== undefined && localWorldSize !== undefined) r.below('MPI_LOCALRANKID', localRank, 'MPI_LOCALNRANKS', localWorldSize);
  const parent = context.parentPid ?? process.ppid;
  // Hydra starts one proxy per node, the parent of all of that node's ranks.
  const jobId = r.str('PMI_JOBID') ?? r.str('PMI_KVSNAME') ?? r.str('PMIX_NAMESPACE') ?? `hydra-proxy-${parent}`;
  const out: LaunchEnv = {
    launcher: 'mpich',
    rank,
    worldSize,
    restartCount: 0,
    runId: `mpich-${jobId}`,
    store: mpiStore(r, rank, worldSize, localWorldSize, 'MPI_LOCALNRANKS', `mpich:${jobId}`, 'PMI_JOBID or PMI_KVSNAME'),
  };
  if (localRank !== undefined) out.localRank = localRank;
  if (localWorldSize !== undefined) out.localWorldSize = localWorldSize;
  return out;
}

function slurm(env: Env): LaunchEnv {
  const r: Reader = new Reader(env, 'slurm');
  const rank = r.need('SLURM_PROCID', 0);
  const worldSize = r.int('SLURM_NTASKS', 1) ?? r.need('SLURM_NPROCS', 1, 'srun sets SLURM_NTASKS for every task of a job step');
  r.below('SLURM_PROCID', rank, 'SLURM_NTASKS', worldSize);
  const nodeRank = r.need('SLURM_NODEID', 0, 'srun sets it for every task of a job step');
  const listVar = ['SLURM_STEP_NODELIST', 'SLURM_JOB_NODELIST', 'SLURM_NODELIST'].find((n) => r.str(n) !== undefined);
  if (listVar === undefined) r.missing('SLURM_STEP_NODELIST', 'srun sets it for every task of a job step');
  let hosts: string[];
  try {
    hosts = expandNodelist(r.str(listVar) as string, listVar);
  } catch (e) {
    r.fail((e as Error).message.replace(/^EINVAL: /, ''));
  }
  const stepNodes = r.int('SLURM_STEP_NUM_NODES', 1);
  if (stepNodes !== undefined && stepNodes !== hosts.length) r.fail(`SLURM_STEP_NUM_NODES=${stepNodes} but ${listVar} names ${hosts.length} hosts`);
  r.below('SLURM_NODEID', nodeRank, `the number of hosts in ${listVar}`, hosts.length);
  const out: LaunchEnv = { launcher: 'slurm', rank, worldSize, nodeRank, nodeCount: hosts.length, restartCount: r.int('SLURM_RESTART_COUNT', 0) ?? 0, runId: '', store: { kind: 'hash' } };
  const localRank = r.int('SLURM_LOCALID', 0);
  const tasksVar = ['SLURM_STEP_TASKS_PER_NODE', 'SLURM_TASKS_PER_NODE'].find((n) => r.str(n) !== undefined);
  if (tasksVar !== undefined) {
    let counts: number[];
    try {
      counts = expandTasksPerNode(r.str(tasksVar) as string, tasksVar);
    } catch (e) {
      r.fail((e as Error).message.replace(/^EINVAL: /, ''));
    }
    if (counts.length !== hosts.length) r.fail(`${tasksVar} covers ${counts.length} nodes but ${listVar} names ${hosts.length}`);
    const total = counts.reduce((a, b) => a + b, 0);
    if (tasksVar === 'SLURM_STEP_TASKS_PER_NODE' && total !== worldSize) r.fail(`${tasksVar} adds up to ${total} tasks but SLURM_NTASKS=${worldSize}`);
    out.localWorldSize = counts[nodeRank] as number;
    if (localRank !== undefined) r.below('SLURM_LOCALID', localRank, `this node's count in ${tasksVar}`, out.localWorldSize);
  }
  if (localRank !== undefined) out.localRank = localRank;
  const jobId = r.str('SLURM_JOB_ID') ?? r.str('SLURM_JOBID');
  const stepId = r.str('SLURM_STEP_ID') ?? r.str('SLURM_STEPID') ?? '0';
  out.runId = `slurm-${jobId ?? 'unknown'}.${stepId}`;
  const commId = commIdStore(r, rank);
  if (commId) {
    out.store = commId;
    return out;
  }
  const addr = r.str('MASTER_ADDR');
  let port = r.port('MASTER_PORT');
  if (port === undefined) {
    if (jobId === undefined) r.missing('SLURM_JOB_ID', 'the store port is derived from it unless MASTER_PORT is set');
    port = derivePort(`slurm:${jobId}.${stepId}`);
  }
  // Task 0 of a step runs on the step's first node, which hosts the store.
  if (addr === undefined && rank === 0 && nodeRank !== 0) r.fail(`SLURM_PROCID=0 runs on node ${nodeRank} (SLURM_NODEID), not on the first host of ${listVar}; set MASTER_ADDR to its host`);
  const source = `${addr === undefined ? `first host of ${listVar}` : 'MASTER_ADDR'} and ${r.str('MASTER_PORT') === undefined ? 'a port derived from SLURM_JOB_ID' : 'MASTER_PORT'}`;
  out.store = tcp(r, rank, addr ?? (hosts[0] as string), port, source);
  return out;
}

const isSlurmStep = (env: Env): boolean => env.SLURM_PROCID !== undefined && (env.SLURM_STEP_ID !== undefined || env.SLURM_STEPID !== undefined);

/**
 * Reads the launch environment in the order torchrun (and collective-run, and
 * Kubernetes-style RANK/WORLD_SIZE/MASTER_ADDR), Open MPI, MPICH, a Slurm job
 * step, else a single process. A missing or inconsistent value is an error that
 * names the variable and the launcher detected.
 */
export function resolveLaunchEnv(env: Env = process.env, context: ResolveContext = {}): LaunchEnv {
  if (env.RANK !== undefined || env.WORLD_SIZE !== undefined) return torchrunLike(env);
  if (env.OMPI_COMM_WORLD_RANK !== undefined || env.OMPI_COMM_WORLD_SIZE !== undefined) return openMpi(env);
  if (env.PMI_RANK !== undefined || env.PMI_SIZE !== undefined) {
    try {
      return mpich(env, context);
    } catch (e) {
      // srun --mpi=pmi2 sets PMI_* too: when they are the step's own ranks, the
      // step's nodelist can give the address MPICH's variables cannot.
      const sameJob = env.PMI_RANK === env.SLURM_PROCID && env.PMI_SIZE === (env.SLURM_NTASKS ?? env.SLURM_NPROCS);
      if (sameJob && isSlurmStep(env) && (e as RendezvousError).code === 'ENOENT') return slurm(env);
      throw e;
    }
  }
  // An sbatch script itself has SLURM_PROCID=0 but is no step task; srun sets the step id.
  if (isSlurmStep(env)) return slurm(env);
  const r: Reader = new Reader(env, 'single');
  const out: LaunchEnv = { launcher: 'single', rank: 0, worldSize: 1, localRank: 0, localWorldSize: 1, restartCount: 0, runId: `single-${process.pid}`, store: { kind: 'hash' } };
  const commId = commIdStore(r, 0);
  if (commId) out.store = commId;
  return out;
}
