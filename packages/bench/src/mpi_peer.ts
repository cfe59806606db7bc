import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { cpus, homedir, hostname } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { TransportError } from '@collective/transport';
import type { CollectiveName } from './collectives.js';

const run = promisify(execFile);

export interface MpiSample {
  bytes: number;
  us: number;
  busbw: number;
}

/** The Open MPI peer shipped with this package (peers/mpi_coll.c); `--mpi` with no path runs it. */
export const DEFAULT_MPI_PEER = fileURLToPath(new URL('../peers/mpi_coll.c', import.meta.url));

/** The longest the peer may take to build and run its sweep. */
export const MPI_PEER_TIMEOUT_MS = 600_000;

/** The peer's name for a collective; only the ones it implements. */
export function mpiOpFor(collective: CollectiveName): 'allreduce' | 'allgather' {
  if (collective === 'all_reduce') return 'allreduce';
  if (collective === 'all_gather') return 'allgather';
  throw new TransportError('EINVAL', `--mpi compares all_reduce and all_gather only (got ${collective})`);
}

export function checkMpiPeer(path: string): void {
  if (!existsSync(path)) throw new TransportError('ENOENT', `--mpi: ${path} does not exist; give no path for the shipped ${DEFAULT_MPI_PEER}, or a built mpi_coll`);
}

export interface MpiPeerOptions {
  /** mpi_coll.c (built with mpicc) or its binary */
  path: string;
  op: 'allreduce' | 'allgather';
  ranks: number;
  /** the bench's sweep: the peer times exactly these sizes (the ones too small for a call are left out) */
  sizes: readonly number[];
  /** where a peer built from source is kept for the next run (default: peerCacheDir()) */
  cacheDir?: string;
  /**
   * 'tcp' forces Open MPI's tcp transport (pml ob1, btl tcp,self), the
   * counterpart of a job whose processes talk over tcp; by default Open MPI
   * picks (shared memory on one host).
   */
  transport?: 'default' | 'tcp';
  /** hosts and ranks per host when the job spans several (mpirun --host); one host: all local */
  hosts?: { name: string; slots: number }[];
}

/**
 * The environment for the peer's mpirun: a process that is itself a rank of
 * an MPI launch (collective-bench under mpirun or mpiexec) carries its
 * launcher's variables, and mpirun refuses to start inside them ("mpirun
 * does not support recursive calls"), so they are left out.
 */
export function mpirunEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const underOpenMpi = env.OMPI_COMM_WORLD_SIZE !== undefined || env.PMIX_RANK !== undefined;
  const underHydra = env.PMI_RANK !== undefined || env.PMI_SIZE !== undefined;
  if (!underOpenMpi && !underHydra) return env;
  const out: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(env)) {
    if (underOpenMpi && /^(OMPI_|PMIX_|OPAL_|ORTE_|PRTE_)/.test(k)) continue;
    if (underHydra && /^(PMI_|HYDRA_|MPI_LOCALRANKID$|MPI_LOCALNRANKS$)/.test(k)) continue;
    out[k] = v;
  }
  return out;
}

/** mpirun's arguments for the peer, before the program. */
export function mpirunArgs(o: Pick<MpiPeerOptions, 'ranks' | 'transport' | 'hosts'>): string[] {
  const args = ['--allow-run-as-root', '--oversubscribe', '-np', String(o.ranks)];
  // With UCX installed, Open MPI would pick pml ucx and its own shared memory, ignoring btl.
  if (o.transport === 'tcp') args.push('--mca', 'pml', 'ob1', '--mca', 'btl', 'tcp,self');
  if (o.hosts && o.hosts.length > 1) args.push('--host', o.hosts.map((h) => `${h.name}:${h.slots}`).join(','));
  else if (o.transport === 'tcp') args.push('--mca', 'btl_tcp_if_include', 'lo');
  return args;
}

function firstLine(e: unknown): string {
  const err = e as { stderr?: string; message?: string; killed?: boolean };
  if (err.killed) return `no answer within ${MPI_PEER_TIMEOUT_MS / 1000} s`;
  const text = (err.stderr ?? '').trim() || (err.message ?? String(e));
  return text.split('\n').find((l) => l.trim() !== '' && !/^[-*]+$/.test(l.trim())) ?? text;
}

/**
 * Where built peers are kept: $COLLECTIVE_BENCH_CACHE, else
 * $XDG_CACHE_HOME/collective-bench, else ~/.cache/collective-bench. One
 * binary per source and machine, reused by later runs, instead of a new
 * temporary folder per run left behind.
 */
export function peerCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.COLLECTIVE_BENCH_CACHE) return env.COLLECTIVE_BENCH_CACHE;
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'collective-bench');
}

/**
 * The peer built from `source` in `cacheDir`, built now if missing. The
 * name carries a hash of the source and of the machine (-march=native
 * code may not run on another CPU of a shared home), so an edited source
 * or another host builds afresh and the cache holds one binary per pair.
 * Built under a temporary name and renamed, so a run that dies mid-build,
 * or two runs at once, never leave or run half a binary.
 */
export async function buildPeer(source: string, cacheDir: string, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const hash = createHash('sha256').update(readFileSync(source)).update(`\0${hostname()}\0${cpus()[0]?.model ?? ''}\0${process.arch}`).digest('hex').slice(0, 16);
  const bin = join(cacheDir, `mpi_coll-${hash}`);
  if (existsSync(bin)) return bin;
  try {
    mkdirSync(cacheDir, { recursive: true });
  } catch (e) {
    throw new TransportError('EACCES', `--mpi: cannot create the cache folder ${cacheDir} for the built peer (${(e as Error).message}); set COLLECTIVE_BENCH_CACHE to a writable folder`);
  }
  const partial = `${bin}.${process.pid}.partial`;
  try {
    await run('mpicc', ['-O3', '-march=native', '-o', partial, source], { env, timeout: MPI_PEER_TIMEOUT_MS });
    renameSync(partial, bin);
  } catch (e) {
    throw new TransportError('ENOENT', `--mpi: could not build ${source} with mpicc (apt-get install -y openmpi-bin libopenmpi-dev): ${firstLine(e)}`);
  } finally {
    rmSync(partial, { force: true });
  }
  return bin;
}

/**
 * Runs the Open MPI peer (peers/mpi_coll.c) in the same run, for
 * side-by-side figures. Accepts the C source (built with mpicc) or a binary.
 */
export async function runMpiPeer(o: MpiPeerOptions): Promise<MpiSample[]> {
  checkMpiPeer(o.path);
  let bin = o.path;
  const env = mpirunEnv();
  if (o.path.endsWith('.c')) bin = await buildPeer(o.path, o.cacheDir ?? peerCacheDir(env), env);
  const sizes = [...new Set(o.sizes.filter((b) => b >= 4))];
  if (sizes.length === 0) return [];
  const args = [...mpirunArgs(o), bin, o.op, '--sizes', '20', ...sizes.map(String)];
  let stdout: string;
  try {
    ({ stdout } = await run('mpirun', args, { env, encoding: 'utf8', timeout: MPI_PEER_TIMEOUT_MS, maxBuffer: 16 << 20 }));
  } catch (e) {
    throw new TransportError('EIO', `--mpi: mpirun ${args.join(' ')} failed: ${firstLine(e)}`);
  }
  return stdout
    .split('\n')
    .filter((l) => /^\s*\d/.test(l))
    .map((l) => {
      const [bytes, us, , busbw] = l.trim().split(/\s+/).map(Number);
      return { bytes: bytes!, us: us!, busbw: busbw! };
    });
}
