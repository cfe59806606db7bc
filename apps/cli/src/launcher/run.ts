import type { Writable } from 'node:stream';
import { constants } from 'node:os';
import { AgentStore, type FailureReport } from './agent_store.js';
import type { RunPlan } from './options.js';
import { LocalWorkers, type WorkerExit, type WorkerSpec } from './workers.js';

const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/** The environment torchrun's agent gives a worker (torch 1.13 local_elastic_agent), for the static rendezvous. */
export function workerEnv(plan: RunPlan, port: number, localRank: number, base: NodeJS.ProcessEnv, jobSecret?: string): NodeJS.ProcessEnv {
  const worldSize = plan.nnodes * plan.nprocPerNode;
  const rank = plan.nodeRank * plan.nprocPerNode + localRank;
  const env: NodeJS.ProcessEnv = {
    ...base,
    LOCAL_RANK: String(localRank),
    RANK: String(rank),
    GROUP_RANK: String(plan.nodeRank),
    ROLE_RANK: String(rank),
    ROLE_NAME: 'default',
    LOCAL_WORLD_SIZE: String(plan.nprocPerNode),
    WORLD_SIZE: String(worldSize),
    GROUP_WORLD_SIZE: String(plan.nnodes),
    ROLE_WORLD_SIZE: String(worldSize),
    MASTER_ADDR: plan.masterAddr,
    MASTER_PORT: String(port),
    TORCHELASTIC_RESTART_COUNT: '0',
    TORCHELASTIC_MAX_RESTARTS: '0',
    TORCHELASTIC_RUN_ID: plan.runId,
    // Workers are clients of the store this agent hosts, under /worker/attempt_0.
    TORCHELASTIC_USE_AGENT_STORE: 'True',
    COLLECTIVE_LAUNCHER: 'collective-run',
  };
  if (plan.nprocPerNode > 1 && base.OMP_NUM_THREADS === undefined) env.OMP_NUM_THREADS = '1';
  // A secret the agents made; a user's own (COLLECTIVE_JOB_SECRET or _FILE) is inherited with `base`.
  if (jobSecret !== undefined) env.COLLECTIVE_JOB_SECRET = jobSecret;
  return env;
}

function commandOf(plan: RunPlan): { command: string; args: string[] } {
  // Like torchrun without --no-python, a script is run with the interpreter: here, this node.
  if (/\.(c|m)?js$/.test(plan.command)) return { command: process.execPath, args: [plan.command, ...plan.args] };
  return { command: plan.command, args: plan.args };
}

export interface RunIo {
  stdout: Writable;
  stderr: Writable;
  env: NodeJS.ProcessEnv;
}

/**
 * One node's agent: host or join the store, check in with the other nodes,
 * start the workers, and stop them all when one fails anywhere in the job.
 * Returns the exit code: 0, the first failing worker's code, or 128 + signal.
 */
export async function runLauncher(plan: RunPlan, io: RunIo = { stdout: process.stdout, stderr: process.stderr, env: process.env }): Promise<number> {
  const say = (msg: string) => io.stderr.write(`collective-run: ${msg}\n`);
  const store = await AgentStore.open(plan, io.env);
  let workers: LocalWorkers | undefined;
  let received: NodeJS.Signals | undefined;
  const onSignal = (sig: NodeJS.Signals) => {
    if (received !== undefined || workers === undefined) {
      // A second signal, or one before any worker exists: no more waiting.
      workers?.signal('SIGKILL');
      if (workers === undefined) process.exit(128 + (constants.signals[sig] ?? 0));
      return;
    }
    received = sig;
    workers.signal(sig);
  };
  for (const s of FORWARDED) process.on(s, onSignal);
  try {
    try {
      await store.rendezvous(plan);
    } catch (e) {
      // The host lingers so the other agents can still read why the job did not start.
      if (store.server) await new Promise((r) => setTimeout(r, Math.min(2_000, plan.rdzvTimeoutMs)));
      throw e;
    }
    const { command, args } = commandOf(plan);
    const specs: WorkerSpec[] = Array.from({ length: plan.nprocPerNode }, (_, localRank) => ({
      rank: plan.nodeRank * plan.nprocPerNode + localRank,
      localRank,
      command,
      args,
      env: workerEnv(plan, store.port, localRank, io.env, store.workerSecret),
    }));
    workers = new LocalWorkers({ stdout: io.stdout, stderr: io.stderr, prefix: plan.prefix });
    workers.start(specs);

    const remote = store.watchFailure().then(
      (f) => ({ kind: 'remote' as const, failure: f }),
      () => new Promise<never>(() => {}),
    );
    const local = workers.firstFailure().then((exit) => ({ kind: 'local' as const, exit }));
    const first = await Promise.race([local, remote]);

    if (first.kind === 'local' && first.exit === undefined) {
      await store.finish(plan);
      if (store.server) {
        // Node 0 keeps serving the store until every node's workers are done.
        const allDone = (async () => {
          for (;;) {
            try {
              await store.waitAllFinished(3_600_000);
              return 0;
            } catch (e) {
              if ((e as { code?: string }).code !== 'ETIMEDOUT') throw e;
            }
          }
        })();
        const outcome = await Promise.race([allDone, remote]);
        if (typeof outcome !== 'number') {
          say(`${describe(outcome.failure)}; this node's workers had finished`);
          return outcome.failure.code;
        }
      }
      return received === undefined ? 0 : 128 + (constants.signals[received] ?? 0);
    }

    let failure: FailureReport;
    if (first.kind === 'local') {
      const exit = first.exit as WorkerExit;
      const code = received !== undefined ? 128 + (constants.signals[received] ?? 0) : exit.code;
      failure = { nodeRank: plan.nodeRank, rank: exit.rank, code, reason: reasonOf(exit, received, plan.nodeRank) };
      await store.reportFailure(failure);
    } else failure = first.failure;
    // The signal was ours: say so, rather than blame the rank that left first.
    if (first.kind === 'local' && received !== undefined) say(`received ${received} and passed it to the workers; waiting for them to stop`);
    else say(`${describe(failure)}; stopping the other workers`);
    await workers.stop(plan.termTimeoutMs);
    return failure.code;
  } finally {
    for (const s of FORWARDED) process.off(s, onSignal);
    await store.close().catch(() => {});
  }
}

function reasonOf(exit: WorkerExit, signal: NodeJS.Signals | undefined, nodeRank: number): string {
  // Read by the other nodes' agents: "rank 1 (node 0) stopped after collective-run on node 0 received SIGINT".
  if (signal !== undefined) return `stopped after collective-run on node ${nodeRank} received ${signal}`;
  if (exit.spawnError) return exit.spawnError;
  if (exit.signal) return `killed by ${exit.signal}`;
  return `exited with code ${exit.code}`;
}

function describe(f: FailureReport): string {
  return `rank ${f.rank} (node ${f.nodeRank}) ${f.reason}`;
}
