import { type JsonValue, type LaunchEnv, rendezvous, type Rendezvous, valueToString, World } from '@collective/runtime';
import { TransportError } from '@collective/transport';
import { MPI_PEER_TIMEOUT_MS, type MpiPeerOptions, type MpiSample, runMpiPeer } from './mpi_peer.js';

/** The devices a bench runs on: this process's alone, or every process's of a launched job. */
export interface BenchWorld {
  world: World;
  /** this process's index in the job (0 without a launcher) */
  process: number;
  /** devices of each process of the job, in process order ([devices] without a launcher) */
  devicesPerProcess: number[];
  /** the launcher that started the job, when joined */
  launcher?: string;
  /** hosts the job spans */
  hosts: number;
  /** the Open MPI peer's figures, when asked for (process 0 only in a job) */
  mpi?: MpiSample[];
  /** closes the World (and leaves the job); `ok` false after a failure, so nobody waits for a lost process */
  close(ok: boolean): Promise<void>;
}

export interface BenchWorldOptions {
  /** devices of this process */
  devices: number;
  poolBytes: number;
  connector?: 'auto' | 'shm' | 'net';
  /** the Open MPI peer to run before the devices start; ranks and transport are decided here */
  mpi?: Omit<MpiPeerOptions, 'ranks' | 'transport' | 'hosts'>;
  /** the launch environment of the job to join; undefined runs on this process's devices alone */
  job?: LaunchEnv;
  /** settings every process of a job must share (the sweep), by flag; a difference fails the rendezvous naming it */
  agree?: { [key: string]: JsonValue };
  /** checked once the job's device count is known, on every process alike */
  checkTotal?: (totalDevices: number) => void;
}

/** How long processes wait for each other to start. */
const JOIN_TIMEOUT_MS = 120_000;

/** Counts the benches this process joined: the n-th of every process meets under the same store keys. */
let joinedRuns = 0;

export async function openBenchWorld(o: BenchWorldOptions): Promise<BenchWorld> {
  if (o.job === undefined) return startAlone(o);
  return joinJob(o);
}

async function startAlone(o: BenchWorldOptions): Promise<BenchWorld> {
  o.checkTotal?.(o.devices);
  // Before the devices start, so the peer has the cores to itself.
  const mpi = o.mpi && (await runMpiPeer({ ...o.mpi, ranks: o.devices }));
  const world = await World.start({ devices: o.devices, poolBytes: o.poolBytes, ...(o.connector !== undefined && { connector: o.connector }) });
  return {
    world,
    process: 0,
    devicesPerProcess: [o.devices],
    hosts: 1,
    ...(mpi && { mpi }),
    close: () => world.close(),
  };
}

async function joinJob(o: BenchWorldOptions): Promise<BenchWorld> {
  const prefix = `collective-bench/${++joinedRuns}`;
  // Our own rendezvous rather than World.join's: the job's shape is needed
  // before the devices start (the peer's ranks and hosts, -r), and its
  // store lets the other processes wait while process 0 runs the peer.
  const rv = await rendezvous({ devices: o.devices, poolBytes: o.poolBytes, timeoutMs: JOIN_TIMEOUT_MS, prefix: `${prefix}/bootstrap`, options: o.agree ?? {} });
  const job = rv.job;
  let mpi: MpiSample[] | undefined;
  try {
    // The same verdict on every process: the job can leave together.
    o.checkTotal?.(job.totalDevices);
    if (o.mpi) mpi = await mpiPhase(rv, o.mpi, `${prefix}/mpi`);
  } catch (e) {
    await rv.close().catch(() => {});
    throw e;
  }
  let world: World;
  try {
    world = await World.join({ devices: o.devices, poolBytes: o.poolBytes, rendezvous: rv, joinTimeoutMs: JOIN_TIMEOUT_MS, ...(o.connector !== undefined && { connector: o.connector }) });
  } catch (e) {
    // World.join told the others; a process that failed may be gone.
    await rv.close({ waitForOthers: false }).catch(() => {});
    throw e;
  }
  return {
    world,
    process: job.rank,
    devicesPerProcess: job.ranks.map((r) => r.devices),
    launcher: rv.launch.launcher,
    hosts: job.hosts.length,
    ...(mpi && { mpi }),
    close: async (ok) => {
      try {
        await world.close();
      } finally {
        await rv.close({ waitForOthers: ok }).catch(() => {});
      }
    },
  };
}

/**
 * Process 0 runs the Open MPI peer over tcp with a rank per device of the
 * job, on the job's hosts; the others wait for its word through the store,
 * so nothing of ours competes with the peer for the cores.
 */
async function mpiPhase(rv: Rendezvous, peer: NonNullable<BenchWorldOptions['mpi']>, key: string): Promise<MpiSample[] | undefined> {
  const job = rv.job;
  if (job.rank === 0) {
    const hosts = job.hosts.map((h) => ({ name: h.hostname, slots: h.ranks.reduce((n, r) => n + job.ranks[r]!.devices, 0) }));
    try {
      const samples = await runMpiPeer({ ...peer, ranks: job.totalDevices, transport: 'tcp', hosts });
      await rv.store.set(key, JSON.stringify({ ok: true }));
      return samples;
    } catch (e) {
      await rv.store.set(key, JSON.stringify({ error: (e as Error).message })).catch(() => {});
      throw e;
    }
  }
  let word: { ok?: boolean; error?: string };
  try {
    word = JSON.parse(valueToString(await rv.store.get(key, MPI_PEER_TIMEOUT_MS + 60_000))) as typeof word;
  } catch (e) {
    throw new TransportError('ETIMEDOUT', `process ${job.rank} waited for process 0 to finish the Open MPI peer (--mpi) and gave up: ${(e as Error).message}`);
  }
  if (word.error !== undefined) throw new TransportError('EIO', `process 0 could not run the Open MPI peer, so this process stops too: ${word.error}`);
  return undefined;
}
