import { hostname } from 'node:os';
import { StoreError, TCPStore, TCPStoreServer, jobSecretFromEnv, newJobSecretText, storeListenAddress, valueToString } from '@collective/rendezvous';
import type { RunPlan } from './options.js';

/** Keys the agents use among themselves; workers live under /worker/attempt_N. */
const AGENT = 'collective-run/agent';
const FAILED = 'collective-run/failed';
const FINISHED = 'collective-run/finished';
const ALL_FINISHED = 'collective-run/all-finished';
const JOB_SECRET = 'collective-run/job-secret';

export interface FailureReport {
  nodeRank: number;
  rank: number;
  code: number;
  reason: string;
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
        server = await TCPStoreServer.start({ port, ...(listen !== undefined && { host: listen }), ...(secret !== undefined && { secret, requireAuth }) });
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
      return new AgentStore(client, watcher, server, port, made, plan.nodeRank !== 0 && userSecret === undefined);
    } catch (e) {
      await server?.close();
      const why = (e as Error).message.replace(/^[A-Z]+: /, '');
      throw new Error(`node ${plan.nodeRank}: ${why} (--master-addr ${plan.masterAddr} --master-port ${plan.masterPort}); is node 0's collective-run running?`);
    }
  }

  /** Every agent checks in and checks that all were started with the same shape of job. */
  async rendezvous(plan: RunPlan): Promise<void> {
    const me = { nodeRank: plan.nodeRank, nnodes: plan.nnodes, nprocPerNode: plan.nprocPerNode, runId: plan.runId, host: hostname(), pid: process.pid };
    const json = JSON.stringify(me);
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
        throw new Error(`node${missing.length === 1 ? '' : 's'} ${missing.join(', ')} of ${plan.nnodes} did not join within ${plan.rdzvTimeoutMs / 1000} s; start collective-run on every node with the same --nnodes, --master-addr and --master-port`);
      }
      throw e;
    }
    // Node 0 made the job's secret; see the class comment for what that is worth.
    if (this.fetchSecret) this.made = valueToString(await this.client.get(JOB_SECRET));
    for (const k of keys) {
      const other = JSON.parse(valueToString(await this.client.get(k))) as typeof me;
      for (const [flag, field] of [['--nnodes', 'nnodes'], ['--nproc-per-node', 'nprocPerNode'], ['--run-id', 'runId']] as const) {
        if (other[field] !== me[field]) {
          throw new Error(`node ${other.nodeRank} (${other.host}) was started with ${flag} ${other[field]} but node ${plan.nodeRank} with ${me[field]}; every node must use the same ${flag}`);
        }
      }
    }
  }

  /** The first failure anywhere in the job wins; later ones keep it. */
  async reportFailure(report: FailureReport): Promise<void> {
    await this.client.compareSet(FAILED, '', JSON.stringify(report)).catch(() => undefined);
  }

  /** Resolves with the job's first failure; never resolves when there is none (stop with close). */
  async watchFailure(): Promise<FailureReport> {
    for (;;) {
      try {
        await this.watcher.wait([FAILED], 3_600_000);
        return JSON.parse(valueToString(await this.watcher.get(FAILED))) as FailureReport;
      } catch (e) {
        if (e instanceof StoreError && e.code === 'ETIMEDOUT') continue;
        throw e;
      }
    }
  }

  /** This node's workers all succeeded; node 0 then keeps serving until every node has. */
  async finish(plan: RunPlan): Promise<void> {
    const n = await this.client.add(FINISHED, 1);
    if (n === plan.nnodes) await this.client.set(ALL_FINISHED, '1');
  }

  async waitAllFinished(timeoutMs: number): Promise<void> {
    await this.client.wait([ALL_FINISHED], timeoutMs);
  }

  async close(): Promise<void> {
    await Promise.all([this.client.close(), this.watcher.close()]);
    await this.server?.close();
  }
}
