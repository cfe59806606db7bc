import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TransportError } from '@collective/transport';
import type { CollectiveName } from './collectives.js';

export interface MpiSample {
  bytes: number;
  us: number;
  busbw: number;
}

/** The Open MPI peer shipped with this package (peers/mpi_coll.c); `--mpi` with no path runs it. */
export const DEFAULT_MPI_PEER = fileURLToPath(new URL('../peers/mpi_coll.c', import.meta.url));

/** The peer's name for a collective; only the ones it implements. */
export function mpiOpFor(collective: CollectiveName): 'allreduce' | 'allgather' {
  if (collective === 'all_reduce') return 'allreduce';
  if (collective === 'all_gather') return 'allgather';
  throw new TransportError('EINVAL', `--mpi compares all_reduce and all_gather only (got ${collective})`);
}

export function checkMpiPeer(path: string): void {
  if (!existsSync(path)) throw new TransportError('ENOENT', `--mpi: ${path} does not exist; give no path for the shipped ${DEFAULT_MPI_PEER}, or a built mpi_coll`);
}

/**
 * Runs the Open MPI peer (peers/mpi_coll.c) in the same run, for
 * side-by-side figures. Accepts the C source (built with mpicc) or a binary.
 */
export function runMpiPeer(path: string, op: 'allreduce' | 'allgather', ranks: number, minBytes: number, maxBytes: number): MpiSample[] {
  checkMpiPeer(path);
  let bin = path;
  if (path.endsWith('.c')) {
    bin = join(mkdtempSync(join(tmpdir(), 'mpi-peer-')), 'mpi_coll');
    try {
      execFileSync('mpicc', ['-O3', '-march=native', '-o', bin, path], { stdio: 'pipe' });
    } catch (e) {
      throw new TransportError('ENOENT', `--mpi: could not build ${path} with mpicc (apt-get install -y openmpi-bin libopenmpi-dev): ${(e as Error).message.split('\n')[0]}`);
    }
  }
  const out = execFileSync('mpirun', ['--allow-run-as-root', '--oversubscribe', '-np', String(ranks), bin, op, String(Math.max(minBytes, 8)), String(maxBytes), '20'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return out
    .split('\n')
    .filter((l) => /^\s*\d/.test(l))
    .map((l) => {
      const [bytes, us, , busbw] = l.trim().split(/\s+/).map(Number);
      return { bytes: bytes!, us: us!, busbw: busbw! };
    });
}
