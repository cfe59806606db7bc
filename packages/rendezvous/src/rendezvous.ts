import { jobSecretFromEnv, jobSecretOfText, newJobSecretText } from './job_secret.js';
import { type BootstrapOptions, type JobTopology, bootstrapJob } from './job_bootstrap.js';
import { type LaunchEnv, type ResolveContext, resolveLaunchEnv } from './launch_env.js';
import { openLaunchStore } from './launch_store.js';
import { type Store, StoreError, checkTimeout, delay, valueToString } from './store.js';
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
  /**
   * The job's secret (32 bytes): the environment's (COLLECTIVE_JOB_SECRET,
   * set by collective-run or the user), else one the processes agreed on
   * through the store. Sockets between the job's processes prove they hold it.
   */
  secret: Uint8Array;
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
  // A bad secret is the user's to fix before any other process hears of this one.
  const given = jobSecretFromEnv(env);
  const opened = await openLaunchStore(launch, { timeoutMs, env });
  const prefix = options.prefix ?? 'collective/bootstrap';
  let job: JobTopology;
  let secret: Uint8Array;
  try {
    job = await bootstrapJob(opened.store, {
      ...options,
      rank: launch.rank,
      worldSize: launch.worldSize,
      runId: launch.runId,
      timeoutMs,
      ...(launch.localRank !== undefined && { localRank: launch.localRank }),
    });
    secret = given ?? (await agreeOnSecret(opened.store, `${prefix}/secret`));
  } catch (e) {
    // The host lingers briefly so the others can still read why, or time out on their own.
    if (opened.server) await delay(Math.min(2_000, timeoutMs));
    await opened.close();
    // A process given another secret never arrives: the store's refusals are the only trace of it here.
    const refused = opened.server?.stats.refused ?? 0;
    if (refused > 0 && e instanceof StoreError && e.code === 'ETIMEDOUT') {
      throw new StoreError('ETIMEDOUT', `${e.message.replace(/^[A-Z]+: /, '')}; the store refused ${refused} connection(s) that did not prove this job's secret: do all processes have the same COLLECTIVE_JOB_SECRET?`, e.keys);
    }
    throw e;
  }
  let closed = false;
  const out: Rendezvous = {
    launch,
    store: opened.store,
    job,
    secret,
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

/**
 * A secret for a job that was given none: every process offers a random
 * one and the first offer in the store wins. It is only as private as the
 * store (which, like torch's, has no authentication): a job that must keep
 * strangers who can reach its store out gives COLLECTIVE_JOB_SECRET instead.
 */
async function agreeOnSecret(store: Store, key: string): Promise<Uint8Array> {
  await store.compareSet(key, '', newJobSecretText());
  // Read back, not taken from the reply: launchers' stores differ in what compareSet returns.
  return jobSecretOfText(valueToString(await store.get(key)), `the job secret at '${key}'`);
}
