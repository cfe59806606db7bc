import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildPeer, DEFAULT_MPI_PEER, peerCacheDir, runMpiPeer } from '@collective/bench';

const haveMpi = spawnSync('mpicc', ['--version'], { stdio: 'ignore' }).status === 0 && spawnSync('mpirun', ['--version'], { stdio: 'ignore' }).status === 0;

describe('the Open MPI peer', () => {
  it('is cached under COLLECTIVE_BENCH_CACHE, else XDG_CACHE_HOME, else ~/.cache', () => {
    expect(peerCacheDir({ COLLECTIVE_BENCH_CACHE: '/c/b', XDG_CACHE_HOME: '/x' })).toBe('/c/b');
    expect(peerCacheDir({ XDG_CACHE_HOME: '/x' })).toBe('/x/collective-bench');
    expect(peerCacheDir({})).toMatch(/\/\.cache\/collective-bench$/);
  });

  it.skipIf(!haveMpi)('is built once into the cache and reused, with nothing left in the temporary folder', async () => {
    const cache = join(mkdtempSync(join(tmpdir(), 'peer-cache-')), 'cache');
    const tmpBefore = readdirSync(tmpdir()).filter((f) => f.startsWith('mpi-peer-')).length;
    const bin = await buildPeer(DEFAULT_MPI_PEER, cache);
    const built = statSync(bin).mtimeMs;
    expect(await buildPeer(DEFAULT_MPI_PEER, cache)).toBe(bin);
    expect(statSync(bin).mtimeMs).toBe(built);
    // One binary, no partial build beside it.
    expect(readdirSync(cache)).toEqual([bin.slice(cache.length + 1)]);
    await runMpiPeer({ path: DEFAULT_MPI_PEER, op: 'allreduce', ranks: 2, sizes: [8], cacheDir: cache });
    expect(readdirSync(cache)).toHaveLength(1);
    expect(readdirSync(tmpdir()).filter((f) => f.startsWith('mpi-peer-')).length).toBe(tmpBefore);
  }, 60_000);

  it.skipIf(!haveMpi)('times exactly the sizes of the sweep, ×2 steps and odd sizes too', async () => {
    const cache = join(mkdtempSync(join(tmpdir(), 'peer-cache-')), 'cache');
    const all = await runMpiPeer({ path: DEFAULT_MPI_PEER, op: 'allreduce', ranks: 2, sizes: [8, 16, 32, 64, 100], cacheDir: cache });
    expect(all.map((s) => s.bytes)).toEqual([8, 16, 32, 64, 100]);
    for (const s of all) expect(s.us).toBeGreaterThan(0);
    // all-gather reports whole blocks per rank, as the bench does: 8 B on 2 ranks is 2 × 4 B; 4 B holds no block of 2.
    const ag = await runMpiPeer({ path: DEFAULT_MPI_PEER, op: 'allgather', ranks: 2, sizes: [4, 8, 24], cacheDir: cache });
    expect(ag.map((s) => s.bytes)).toEqual([8, 24]);
  }, 60_000);
});
