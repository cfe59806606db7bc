import { type BootstrapOptions, type JobTopology, bootstrapJob } from './job_bootstrap.js';
import { type LaunchEnv, type ResolveContext, resolveLaunchEnv } from './launch_env.js';
import { openLaunchStore } from './launch_store.js';
import { type Store, checkTimeout, delay } from './store.js';
import type { TCPStoreServer } from './tcp_store_server.js';

export interface RendezvousOptions extends Omit<BootstrapOptions, 'rank' | 'worldSize' | 'localRank' | 'runId'> {
  /** the environment to read; default process.env */
  env?: Readonly<Record<string, string | undefined>>;
  context?: ResolveContext;
}

/** A process joined to its job: what the launcher said, the open store, and everyone's records. */
export interface Rendezvous {
  launch: LaunchEnv;
  /** the job's store (under torchrun's agent store, already under /worker/attempt_N) */
  store: Store;
  job: JobTopology;
  /** set on the process that hosts the job's TCPStore server */
  server?: TCPStoreServer;
  /**
   * Leaves the job: every process counts itself out, and the one hosting the
   * store keeps serving until all have (or the deadline passes). After a
   * failure that lost a process, `{ waitForOthers: false }` leaves at once.
   */
  close(options?: { waitForOthers?: boolean }): Promise<void>;
}

/**
 * Reads the launch environment, opens (or hosts) the store it names and
 * bootstraps the job: the one call a script makes to run unchanged under
 * collective-run, torchrun, mpirun, srun or a Kubernetes-style environment.
 */
export async function rendezvous(options: RendezvousOptions = {}): Promise<Rendezvous> {
  const timeoutMs = checkTimeout(options.timeoutMs ?? 120_000, 'options.timeoutMs');
  const env = options.env ?? process.env;
  const launch = resolveLaunchEnv(env, options.context);
  const opened = await openLaunchStore(launch, { timeoutMs, env });
  const prefix = options.prefix ?? 'collective/bootstrap';
  let job: JobTopology;
  try {
    job = await bootstrapJob(opened.store, {
      ...options,
      rank: launch.rank,
      worldSize: launch.worldSize,
      runId: launch.runId,
      timeoutMs,
      ...(launch.localRank !== undefined && { localRank: launch.localRank }),
    });
  } catch (e) {
    // The host lingers briefly so the others can still read why, or time out on their own.
    if (opened.server) await delay(Math.min(2_000, timeoutMs));
    await opened.close();
    throw e;
  }
  let closed = false;
  const out: Rendezvous = {
    launch,
    store: opened.store,
    job,
    close: async (o = {}) => {
      if (closed) return;
      closed = true;
      try {
        // After a failure the store's host may be gone with its process: leave without a word.
        if (o.waitForOthers === false) return;
        const done = `${prefix}/exit/all`;
        const n = await opened.store.add(`${prefix}/exit`, 1);
        if (n === launch.worldSize) await opened.store.set(done, '1');
        if (opened.server) await opened.store.wait([done], timeoutMs);
      } finally {
        await opened.close();
      }
    },
  };
  if (opened.server) out.server = opened.server;
  return out;
}
