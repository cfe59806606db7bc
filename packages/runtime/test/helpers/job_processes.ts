import { fixturePath, freePort, run, type ProcResult } from './bootstrap_procs.js';

/** What fixtures/join_job.ts prints for its process. */
export interface JoinResult {
  process: number;
  /** the 31-bit id of the process's pool */
  poolId: number;
  /** hosts the job spans, as the bootstrap grouped them */
  hosts: number;
  size: number;
  localSize: number;
  rankOffset: number;
  spmd: unknown[];
  summed: number[][];
}

export interface JobRun {
  procs: number;
  devices: number;
  /** a fixture module run by launch() in every device */
  module: string;
  args?: unknown;
  poolBytes?: number;
  timeoutMs?: number;
  /** extra environment per process */
  env?: (rank: number) => NodeJS.ProcessEnv;
}

/** The environment a job's processes must not inherit from the test's own. */
export function cleanEnv(): NodeJS.ProcessEnv {
  const base = { ...process.env };
  for (const k of Object.keys(base)) if (/^(RANK|WORLD_SIZE|LOCAL_RANK|MASTER_|OMPI_|PMI_|PMIX_|SLURM_|TORCHELASTIC_|COLLECTIVE_)/.test(k)) delete base[k];
  return base;
}

/** Starts the processes of one job (RANK, WORLD_SIZE, MASTER_* as a Kubernetes-style launcher sets them) running fixtures/join_job.ts. */
export async function startJob(j: JobRun): Promise<ProcResult[]> {
  const port = await freePort();
  const base = cleanEnv();
  return Promise.all(
    Array.from({ length: j.procs }, (_, rank) =>
      run(process.execPath, [fixturePath('join_job')], {
        env: {
          ...base,
          RANK: String(rank),
          WORLD_SIZE: String(j.procs),
          MASTER_ADDR: '127.0.0.1',
          MASTER_PORT: String(port),
          JOIN_JOB_DEVICES: String(j.devices),
          JOIN_JOB_MODULE: j.module,
          JOIN_JOB_ARGS: JSON.stringify(j.args ?? {}),
          JOIN_JOB_POOL: String(j.poolBytes ?? 64 << 20),
          ...j.env?.(rank),
        },
        timeoutMs: j.timeoutMs ?? 40_000,
      }),
    ),
  );
}

/** The JOIN_RESULT of every process, in process order; throws with the output of a process that failed. */
export function joinResults(procs: readonly ProcResult[]): JoinResult[] {
  return procs.map((p) => {
    const line = p.stdout.split('\n').find((l) => l.startsWith('JOIN_RESULT '));
    if (!line) throw new Error(`process failed (code ${p.code}):\n${p.stdout}\n${p.stderr}`);
    return JSON.parse(line.slice('JOIN_RESULT '.length)) as JoinResult;
  });
}
