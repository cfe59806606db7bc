import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI_MAIN, dataRows } from './helpers/run_cli.js';

const haveMpi = spawnSync('mpicc', ['--version'], { stdio: 'ignore' }).status === 0 && spawnSync('mpirun', ['--version'], { stdio: 'ignore' }).status === 0;

describe('collective-bench --mpi', () => {
  it.skipIf(!haveMpi)('has an Open MPI figure on every row of a ×2 sweep, and keeps the built peer in its cache', () => {
    const cache = join(mkdtempSync(join(tmpdir(), 'cb-mpi-')), 'cache');
    const run = () => spawnSync(process.execPath, [CLI_MAIN, 'all_gather', '--mpi', '-b', '16', '-e', '128', '-n', '2', '-w', '0', '--progress', 'false'], { encoding: 'utf8', timeout: 40_000, env: { ...process.env, COLLECTIVE_BENCH_CACHE: cache } });
    const r = run();
    expect(r.status, r.stderr).toBe(0);
    const rows = dataRows(r.stdout);
    expect(rows.map((c) => Number(c[0]))).toEqual([16, 32, 64, 128]);
    for (const c of rows) expect(c.slice(13, 16).every((v) => v !== 'N/A'), c.join(' ')).toBe(true);
    expect(readdirSync(cache)).toHaveLength(1);
    expect(run().status).toBe(0);
    expect(readdirSync(cache)).toHaveLength(1);
  }, 90_000);
});
