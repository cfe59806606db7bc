import { describe, expect, it } from 'vitest';
import { benchMain, runCollective } from './helpers/collective_run.js';

const sweep = ['-b', '8', '-e', '4K', '-f', '8', '-n', '2', '-w', '1', '-g', '2', '--progress=false'];

describe('collective-run with collective-bench', () => {
  it('joins the processes into one communicator of every device; process 0 prints one table for the job', async () => {
    const r = await runCollective(['--standalone', '--nproc-per-node', '2', 'node', benchMain, ...sweep], {}, 50_000);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const rank0 = r.stdout.split('\n').filter((l) => l.startsWith('[rank 0] '));
    expect(rank0.some((l) => /2 processes × 2 devices per process = 4 devices \(collective-run, 1 host\)/.test(l)), r.stdout).toBe(true);
    // Rank 0 reaches its own process's device over shm and the other process's over tcp.
    expect(rank0.some((l) => /connectors shm inside a process, net \(tcp\) between processes/.test(l)), r.stdout).toBe(true);
    const rows = rank0.filter((l) => /^\[rank 0\]\s+\d+\s+\d+\s+float32/.test(l));
    // 8, 64, 512 and 4096 bytes; #wrong (summed over the job's ranks) is 0 out of place and in place.
    expect(rows).toHaveLength(4);
    for (const row of rows) {
      const cols = row.replace('[rank 0]', '').trim().split(/\s+/);
      expect(cols[8], row).toBe('0');
      expect(cols[12], row).toBe('0');
    }
    expect(rank0.some((l) => /Out of bounds values : 0 OK/.test(l))).toBe(true);
    expect(r.stdout.split('\n').filter((l) => l.startsWith('[rank 1] ')), 'process 1 prints nothing').toEqual([]);
  });

  it('with --no-join, every process runs on its own devices and prints its own table', async () => {
    const r = await runCollective(['--standalone', '--nproc-per-node', '2', 'node', benchMain, ...sweep, '--no-join'], {}, 50_000);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    for (const rank of [0, 1]) {
      const mine = r.stdout.split('\n').filter((l) => l.startsWith(`[rank ${rank}] `));
      expect(mine.some((l) => /#\s+size\s+count\s+type/.test(l)), `rank ${rank} printed a table`).toBe(true);
      expect(mine.some((l) => /Out of bounds values : 0 OK/.test(l))).toBe(true);
    }
  });
});
