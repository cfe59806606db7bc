import type { Writable } from 'node:stream';
import { constants, hostname } from 'node:os';
import { AgentStore, type FailureReport } from './agent_store.js';
import type { RunPlan } from './options.js';
import { LocalWorkers, type WorkerExit, type WorkerSpec } from './workers.js';

const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/**
 * The environment torchrun's agent gives a worker (torch 1.13 local_elastic_agent), for the static rendezvous.
 * `attempt` counts the restarts so far: workers find the store's keys under /worker/attempt_<attempt>.
 */
export function workerEnv(plan: RunPlan, port: number, localRank: number, base: NodeJS.ProcessEnv, jobSecret?: string, attempt = 0): NodeJS.ProcessEnv {
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
    TORCHELASTIC_RESTART_COUNT: String(attempt),
    TORCHELASTIC_MAX_RESTARTS: String(plan.maxRestarts),
    TORCHELASTIC_RUN_ID: plan.runId,
    // Workers are clients of the store this agent hosts, under /worker/attempt_<attempt>.
    TORCHELASTIC_USE_AGENT_STORE: 'True',
    COLLECTIVE_LAUNCHER: 'collective-run',
    COLLECTIVE_RESTART_COUNT: String(attempt),
    COLLECTIVE_MAX_RESTARTS: String(plan.maxRestarts),
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

/** How one attempt ended: every worker of the job succeeded, or the job's first failure. */
type Attempt = { kind: 'done'; code: number } | { kind: 'failed'; failure: FailureReport };

/**
 * One node's agent: host or join the store, check in with the other nodes,
 * start the workers, and stop them all when one fails anywhere in the job;
 * with --max-restarts, every agent then checks in again under the next
 * attempt number and starts its workers anew, until the restarts run out.
 * Returns the exit code: 0, the first failing worker's code, or 128 + signal.
 */
export async function runLauncher(plan: RunPlan, io: RunIo = { stdout: process.stdout, stderr: process.stderr, env: process.env }): Promise<number> {
  const say = (msg: string) => io.stderr.write(`collective-run: ${msg}\n`);
  const store = await AgentStore.open(plan, io.env);
  let workers: LocalWorkers | undefined;
  let running = false;
  let received: NodeJS.Signals | undefined;
  const onSignal = (sig: NodeJS.Signals) => {
    if (received !== undefined || !running) {
      // A second signal, or one while no worker runs (before the first start or between attempts): no more waiting.
      workers?.signal('SIGKILL');
      if (!running) process.exit(128 + (constants.signals[sig] ?? 0));
      return;
    }
    received = sig;
    workers?.signal(sig);
  };
  for (const s of FORWARDED) process.on(s, onSignal);
  try {
    const { command, args } = commandOf(plan);
    for (let attempt = 0; ; attempt++) {
      try {
        await store.rendezvous(plan, attempt);
      } catch (e) {
        // The host lingers so the other agents can still read why the job did not start.
        if (store.server) await new Promise((r) => setTimeout(r, Math.min(2_000, plan.rdzvTimeoutMs)));
        throw e;
      }
      const specs: WorkerSpec[] = Array.from({ length: plan.nprocPerNode }, (_, localRank) => ({
        rank: plan.nodeRank * plan.nprocPerNode + localRank,
        localRank,
        command,
        args,
        env: workerEnv(plan, store.port, localRank, io.env, store.workerSecret, attempt),
      }));
      const group = new LocalWorkers({ stdout: io.stdout, stderr: io.stderr, prefix: plan.prefix });
      workers = group;
      running = true;
      group.start(specs);
      let outcome: Attempt;
      try {
        outcome = await runAttempt(plan, store, group, attempt, () => received, say);
      } finally {
        running = false;
      }
      if (store.server && plan.nnodes > 1 && (outcome.kind === 'done' || isFinal(plan, attempt, outcome.failure, received))) {
        // The other agents may still be reading the outcome from the store this agent is about to close.
        await store.waitOutcomeSeen(plan, attempt, Math.min(plan.rdzvTimeoutMs, 10_000)).catch(() => undefined);
      }
      if (outcome.kind === 'done') return outcome.code;
      const { failure } = outcome;
      if (isFinal(plan, attempt, failure, received)) {
        if (plan.maxRestarts > 0) say(`job failed after ${attempt} restart${attempt === 1 ? '' : 's'}: ${describeWhere(failure)}`);
        return received !== undefined ? 128 + (constants.signals[received] ?? 0) : failure.code;
      }
      say(`restart ${attempt + 1} of at most ${plan.maxRestarts}: starting the workers again as attempt ${attempt + 1}`);
    }
  } finally {
    for (const s of FORWARDED) process.off(s, onSignal);
    await store.close().catch(() => {});
  }
}

/** Whether the job ends with `failure` rather than restart. */
function isFinal(plan: RunPlan, attempt: number, failure: FailureReport, received: NodeJS.Signals | undefined): boolean {
  return failure.final === true || received !== undefined || attempt >= plan.maxRestarts;
}

/**
 * Runs one attempt's workers until they all succeed or the job's first
 * failure has stopped them. A node other than 0 tells node 0 once it knows
 * the job is over, so that node 0 does not close the store under it.
 */
async function runAttempt(plan: RunPlan, store: AgentStore, workers: LocalWorkers, attempt: number, received: () => NodeJS.Signals | undefined, say: (msg: string) => void): Promise<Attempt> {
  const remote = store.watchFailure(attempt).then(
    (f) => ({ kind: 'remote' as const, failure: f }),
    () => new Promise<never>(() => {}),
  );
  const local = workers.firstFailure().then((exit) => ({ kind: 'local' as const, exit }));
  const first = await Promise.race([local, remote]);
  const signalCode = () => {
    const sig = received();
    return sig === undefined ? undefined : 128 + (constants.signals[sig] ?? 0);
  };

  if (first.kind === 'local' && first.exit === undefined) {
    await store.finish(plan, attempt);
    // Node 0 keeps serving the store until every node's workers are done; with
    // restarts left every node waits, since a failure elsewhere restarts its workers
    // too, unless a signal told this one to stop.
    if (!store.server && (attempt >= plan.maxRestarts || received() !== undefined)) {
      await store.outcomeSeen(attempt);
      return { kind: 'done', code: signalCode() ?? 0 };
    }
    const finished = store.waitAllFinished(attempt);
    const outcome = await Promise.race([finished.done.then(() => 0), remote]);
    finished.cancel();
    if (typeof outcome === 'number') {
      if (!store.server) await store.outcomeSeen(attempt);
      return { kind: 'done', code: signalCode() ?? 0 };
    }
    say(`${describe(outcome.failure)}; this node's workers had finished`);
    if (!store.server && isFinal(plan, attempt, outcome.failure, received())) await store.outcomeSeen(attempt);
    return { kind: 'failed', failure: outcome.failure };
  }

  let failure: FailureReport;
  if (first.kind === 'local') {
    const exit = first.exit as WorkerExit;
    const sig = received();
    const mine: FailureReport = { nodeRank: plan.nodeRank, rank: exit.rank, host: hostname(), pid: exit.pid, code: signalCode() ?? exit.code, reason: reasonOf(exit, sig, plan.nodeRank) };
    if (sig !== undefined) mine.final = true;
    // The signal was ours: say so, rather than blame the rank that left first.
    if (sig !== undefined) say(`received ${sig} and passed it to the workers; waiting for them to stop`);
    else say(`${describe(mine)}; stopping the other workers`);
    const winner = await store.reportFailure(attempt, mine);
    // Two nodes failing at once: the job goes on with the one the store kept, but a signal here still ends it.
    failure = sig !== undefined ? mine : winner;
  } else {
    failure = first.failure;
    say(`${describe(failure)}; stopping the other workers`);
  }
  if (!store.server && isFinal(plan, attempt, failure, received())) await store.outcomeSeen(attempt);
  await workers.stop(plan.termTimeoutMs);
  return { kind: 'failed', failure };
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

function describeWhere(f: FailureReport): string {
  return `rank ${f.rank} (${f.host}, pid ${f.pid ?? 'never started'}) ${f.reason}`;
}
