import { hostname } from 'node:os';
import { StoreError, TCPStore, TCPStoreServer, valueToString } from '@collective/runtime';
import type { RunPlan } from './options.js';

/** Keys the agents use among themselves; workers live under /worker/attempt_N. */
const AGENT = 'collective-run/agent';
const FAILED = 'collective-run/failed';
const FINISHED = 'collective-run/finished';
const ALL_FINISHED = 'collective-run/all-finished';

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/i;

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
 */
export class AgentStore {
  private constructor(
    readonly client: TCPStore,
    private readonly watcher: TCPStore,
    readonly server: TCPStoreServer | undefined,
    readonly port: number,
  ) {}

  static async open(plan: RunPlan): Promise<AgentStore> {
    let server: TCPStoreServer | undefined;
    let port = plan.masterPort;
    let host = plan.masterAddr;
    if (plan.nodeRank === 0) {
      const listenHost = LOOPBACK.test(plan.masterAddr) ? (plan.masterAddr === 'localhost' ? '127.0.0.1' : plan.masterAddr) : undefined;
      try {
        server = await TCPStoreServer.start({ port, ...(listenHost !== undefined && { host: listenHost }) });
      } catch (e) {
        throw new Error(`${(e as Error).message.replace(/^[A-Z]+: /, '')}; choose another with --master-port (or --standalone)`);
      }
      port = server.port;
      host = listenHost ?? '127.0.0.1';
    }
    const connect = () => TCPStore.connect({ host, port, timeoutMs: plan.rdzvTimeoutMs, dialect: 'auto' });
    try {
      const client = await connect();
      const watcher = await connect();
      return new AgentStore(client, watcher, server, port);
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
