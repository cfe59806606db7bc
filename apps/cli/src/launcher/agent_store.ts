import { hostname } from 'node:os';
import { StoreError, TCPStore, TCPStoreServer, jobSecretFromEnv, newJobSecretText, storeListenAddress, valueToString } from '@collective/rendezvous';
import type { RunPlan } from './options.js';

/**
 * Keys the agents use among themselves, each attempt under its own prefix so
 * that a restarted job never sees the last attempt's check-ins, failure or
 * finish count; workers live under /worker/attempt_N.
 */
const attemptKey = (attempt: number, what: string) => `collective-run/attempt_${attempt}/${what}`;
const JOB_SECRET = 'collective-run/job-secret';
/**
 * The agents' own waits last at most this long at a time: a wait that lost
 * node 0's store retries the connection until its deadline, and an agent
 * should learn of a vanished store in about this time, not in an hour.
 */
const WAIT_SLICE_MS = 30_000;
/** how long the agent store lets a connection say nothing: 30 days (see AgentStore.open) */
const TORCH_CALLBACK_IDLE_MS = 30 * 24 * 3600 * 1000;

export interface FailureReport {
  nodeRank: number;
  rank: number;
  /** where the failing worker ran */
  host: string;
  pid: number | undefined;
  code: number;
  reason: string;
  /** the job ends here whatever restarts are left (an agent was told to stop by a signal) */
  final?: boolean;
}

/**
 * The store as an agent sees it: node 0 hosts the TCPStore server its workers
 * and the other agents connect to (torchrun's agent store under the static
 * rendezvous), every agent has a client for the coordination keys and a
 * second one that blocks on the failure key.
 *
 * The job secret: a user's COLLECTIVE_JOB_SECRET(_FILE), the same on every
 * node, locks the store (requireAuth) for agents and workers alike. Without
 * one, node 0 makes one and gives it to the workers as COLLECTIVE_JOB_SECRET,
 * so they check that the store they reach is their agent's. The store then
 * still admits plain clients, since a PyTorch job's workers (torch's own
 * client) cannot prove a secret, unless --store-auth required asks to lock it,
 * which on a single node needs nothing more. Across nodes the other agents
 * have no secret to prove, so they fetch the made-up one from the store:
 * that is only as safe as the store itself (anyone who can reach the port
 * can read it); a secret the user gives every node is what locks the store.
 */
export class AgentStore {
  private constructor(
    readonly client: TCPStore,
    private readonly watcher: TCPStore,
    readonly server: TCPStoreServer | undefined,
    readonly port: number,
    /** a secret this job's agents made, for the workers; undefined when the user gave one (they inherit it) */
    private made: string | undefined,
    /** node 0 made the secret and this agent must fetch it */
    private readonly fetchSecret: boolean,
    /** opens one more client of the store */
    private readonly connect: () => Promise<TCPStore>,
  ) {}

  /** what the workers get as COLLECTIVE_JOB_SECRET (known after rendezvous) */
  get workerSecret(): string | undefined {
    return this.made;
  }

  static async open(plan: RunPlan, env: NodeJS.ProcessEnv = process.env): Promise<AgentStore> {
    let userSecret: Uint8Array | undefined;
    try {
      userSecret = jobSecretFromEnv(env);
    } catch (e) {
      throw new Error((e as Error).message.replace(/^[A-Z]+: /, ''));
    }
    const requireAuth = plan.storeAuth === undefined ? userSecret !== undefined : plan.storeAuth === 'required';
    if (requireAuth && userSecret === undefined && plan.nnodes > 1) {
      throw new Error('--store-auth required across nodes needs the same COLLECTIVE_JOB_SECRET or COLLECTIVE_JOB_SECRET_FILE on every node (a secret node 0 made up could only reach the others through the open store)');
    }
    let server: TCPStoreServer | undefined;
    let port = plan.masterPort;
    let host = plan.masterAddr;
    let made: string | undefined;
    let secret = userSecret;
    if (plan.nodeRank === 0) {
      let listen: string | undefined;
      if (plan.storeListen !== 'any') {
        const asked = plan.storeListen ?? plan.masterAddr;
        const label = plan.storeListen === undefined ? `--master-addr ${asked}` : `--store-listen ${asked}`;
        try {
          listen = await storeListenAddress(asked, { label, multiNode: plan.nnodes > 1, anyHint: 'pass --store-listen any' });
        } catch (e) {
          throw new Error((e as Error).message.replace(/^[A-Z]+: /, ''));
        }
      }
      if (secret === undefined) {
        made = newJobSecretText();
        secret = jobSecretFromEnv({ COLLECTIVE_JOB_SECRET: made });
      }
      try {
        // torch 1.13's clients open a callback connection that stays silent until a
        // watchKey, and spin on it once it is closed: the idle timeout must not close it.
        const idle = requireAuth ? {} : { idleTimeoutMs: TORCH_CALLBACK_IDLE_MS };
        server = await TCPStoreServer.start({ port, ...(listen !== undefined && { host: listen }), ...(secret !== undefined && { secret, requireAuth }), ...idle });
      } catch (e) {
        throw new Error(`${(e as Error).message.replace(/^[A-Z]+: /, '')}; choose another with --master-port (or --standalone)`);
      }
      port = server.port;
      host = listen ?? '127.0.0.1';
    }
    const connect = () => TCPStore.connect({ host, port, timeoutMs: plan.rdzvTimeoutMs, dialect: 'auto', ...(secret !== undefined && { secret }) });
    try {
      const client = await connect();
      const watcher = await connect();
      if (made !== undefined && plan.nnodes > 1) await client.set(JOB_SECRET, made);
      return new AgentStore(client, watcher, server, port, made, plan.nodeRank !== 0 && userSecret === undefined, connect);
    } catch (e) {
      await server?.close();
      const why = (e as Error).message.replace(/^[A-Z]+: /, '');
      throw new Error(`node ${plan.nodeRank}: ${why} (--master-addr ${plan.masterAddr} --master-port ${plan.masterPort}); is node 0's collective-run running?`);
    }
  }

  /**
   * Every agent checks in for `attempt` and checks that all were started with
   * the same shape of job. An agent only checks in for the next attempt once
   * its workers of the last one have stopped, so no new worker starts while
   * an old one still runs anywhere in the job.
   */
  async rendezvous(plan: RunPlan, attempt: number): Promise<void> {
    const me = { nodeRank: plan.nodeRank, nnodes: plan.nnodes, nprocPerNode: plan.nprocPerNode, runId: plan.runId, maxRestarts: plan.maxRestarts, host: hostname(), pid: process.pid };
    const json = JSON.stringify(me);
    const AGENT = attemptKey(attempt, 'agent');
    const key = (n: number) => `${AGENT}/${n}`;
    const claimed = valueToString(await this.client.compareSet(key(plan.nodeRank), '', json));
    if (claimed !== json) {
      const other = JSON.parse(claimed) as typeof me;
      throw new Error(`two agents claim --node-rank ${plan.nodeRank}: pid ${other.pid} on ${other.host} and pid ${process.pid} on ${hostname()}`);
    }
    const keys = Array.from({ length: plan.nnodes }, (_, n) => key(n));
    try {
      await this.client.wait(keys, plan.rdzvTimeoutMs);
    } catch (e) {
      if (e instanceof StoreError && e.code === 'ETIMEDOUT') {
        const missing = e.keys.map((k) => k.slice(AGENT.length + 1));
        if (attempt > 0) throw new Error(`node${missing.length === 1 ? '' : 's'} ${missing.join(', ')} of ${plan.nnodes} did not rejoin for restart ${attempt} within ${plan.rdzvTimeoutMs / 1000} s`);
        throw new Error(`node${missing.length === 1 ? '' : 's'} ${missing.join(', ')} of ${plan.nnodes} did not join within ${plan.rdzvTimeoutMs / 1000} s; start collective-run on every node with the same --nnodes, --master-addr and --master-port`);
      }
      throw e;
    }
    // Node 0 made the job's secret; see the class comment for what that is worth.
    if (this.fetchSecret) this.made = valueToString(await this.client.get(JOB_SECRET));
    for (const k of keys) {
      const other = JSON.parse(valueToString(await this.client.get(k))) as typeof me;
      for (const [flag, field] of [['--nnodes', 'nnodes'], ['--nproc-per-node', 'nprocPerNode'], ['--run-id', 'runId'], ['--max-restarts', 'maxRestarts']] as const) {
        if (other[field] !== me[field]) {
          throw new Error(`node ${other.nodeRank} (${other.host}) was started with ${flag} ${other[field]} but node ${plan.nodeRank} with ${me[field]}; every node must use the same ${flag}`);
        }
      }
    }
  }

  /**
   * The first failure of an attempt anywhere in the job wins; resolves with
   * the winner (`report` itself when the store cannot be reached).
   */
  async reportFailure(attempt: number, report: FailureReport): Promise<FailureReport> {
    try {
      return JSON.parse(valueToString(await this.client.compareSet(attemptKey(attempt, 'failed'), '', JSON.stringify(report)))) as FailureReport;
    } catch {
      return report;
    }
  }

  /**
   * Resolves with the first failure of `attempt`; never resolves when there
   * is none (stop with close). The watcher's calls run one after another, so
   * the next attempt's watch starts once this one has seen its failure.
   */
  async watchFailure(attempt: number): Promise<FailureReport> {
    const FAILED = attemptKey(attempt, 'failed');
    for (;;) {
      try {
        await this.watcher.wait([FAILED], WAIT_SLICE_MS);
        return JSON.parse(valueToString(await this.watcher.get(FAILED))) as FailureReport;
      } catch (e) {
        if (e instanceof StoreError && e.code === 'ETIMEDOUT') continue;
        throw e;
      }
    }
  }

  /** This node's workers of `attempt` all succeeded; node 0 then keeps serving until every node's have. */
  async finish(plan: RunPlan, attempt: number): Promise<void> {
    const n = await this.client.add(attemptKey(attempt, 'finished'), 1);
    if (n === plan.nnodes) await this.client.set(attemptKey(attempt, 'all-finished'), '1');
  }

  /**
   * Resolves once every node's workers of `attempt` have succeeded. The wait
   * has a connection of its own, so that `cancel` (a failure elsewhere: the
   * job restarts) frees it at once and the next attempt's calls are not
   * queued behind it.
   */
  waitAllFinished(attempt: number): { done: Promise<void>; cancel: () => void } {
    let cancelled = false;
    let own: TCPStore | undefined;
    const done = (async () => {
      own = await this.connect();
      try {
        for (;;) {
          if (cancelled) throw new StoreError('ECANCELED', 'the wait for every node to finish was cancelled');
          try {
            await own.wait([attemptKey(attempt, 'all-finished')], WAIT_SLICE_MS);
            return;
          } catch (e) {
            if (!(e instanceof StoreError && e.code === 'ETIMEDOUT')) throw e;
          }
        }
      } finally {
        await own.close();
      }
    })();
    const cancel = () => {
      cancelled = true;
      void own?.close();
    };
    return { done, cancel };
  }

  /** A node other than 0 knows how the job ended and needs the store no more. */
  async outcomeSeen(attempt: number): Promise<void> {
    await this.client.add(attemptKey(attempt, 'outcome-seen'), 1).catch(() => undefined);
  }

  /**
   * Node 0, before it closes the store: until every other node knows how the
   * job ended, or `timeoutMs` has passed (a node that died never says so).
   */
  async waitOutcomeSeen(plan: RunPlan, attempt: number, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while ((await this.client.add(attemptKey(attempt, 'outcome-seen'), 0)) < plan.nnodes - 1 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async close(): Promise<void> {
    await Promise.all([this.client.close(), this.watcher.close()]);
    await this.server?.close();
  }
}
