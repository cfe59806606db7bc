import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { dataRows, runCli } from './helpers/run_cli.js';

const shipped = fileURLToPath(new URL('../../../packages/bench/peers/mpi_coll.c', import.meta.url));
const haveMpi = spawnSync('mpicc', ['--version'], { stdio: 'ignore' }).status === 0 && spawnSync('mpirun', ['--version'], { stdio: 'ignore' }).status === 0;

describe('collective-bench --mpi with no path', () => {
  it('runs the Open MPI peer shipped in packages/bench/peers', () => {
    expect(existsSync(shipped)).toBe(true);
    const r = runCli('--mpi', '-b', '64', '-e', '256', '-f', '4', '-n', '2');
    if (haveMpi) {
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/Open MPI/);
      const rows = dataRows(r.stdout);
      expect(rows.map((c) => Number(c[0]))).toEqual([64, 256]);
      // time, busbw and ratio columns of the peer are figures, not N/A
      for (const c of rows) expect(c.slice(13, 15).every((v) => Number.isFinite(Number(v)))).toBe(true);
    } else {
      // Without Open MPI the error still shows which peer it tried to build.
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(`could not build ${shipped} with mpicc`);
    }
  });
});
