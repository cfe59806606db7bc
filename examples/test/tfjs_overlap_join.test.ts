import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));

describe('tfjs_overlap_bench --join', () => {
  it('runs in both processes of a job under collective-run: blocking and ddp train the same model across processes, job rank 0 reports', () => {
    const r = spawnSync(
      process.execPath,
      ['apps/cli/bin/collective-run.js', '--standalone', '--nproc-per-node', '2', process.execPath, 'examples/dist/tfjs_overlap_bench.js', '--join', '--devices', '1', '--hidden', '32', '--depth', '2', '--steps', '4', '--warmup', '1', '--rounds', '1'],
      { cwd: root, encoding: 'utf8', timeout: 60_000 },
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/2 processes × 1 devices/);
    // Only job rank 0 prints the table.
    expect(r.stdout).not.toMatch(/\[rank 1\] variant/);
    const losses = [...r.stdout.matchAll(/^\[rank 0\] (blocking|ddp).*?\s(\d+\.\d{4})\s+\d+\s*$/gm)].map((m) => m[2]);
    expect(losses).toHaveLength(3);
    // The same training whichever way the gradients travel.
    expect(new Set(losses).size).toBe(1);
  });
});
