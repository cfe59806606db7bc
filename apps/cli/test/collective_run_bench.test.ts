import { describe, expect, it } from 'vitest';
import { benchMain, runCollective } from './helpers/collective_run.js';

describe('collective-run with collective-bench', () => {
  it('runs the bench in every worker with the launcher environment', async () => {
    const r = await runCollective(['--standalone', '--nproc-per-node', '2', 'node', benchMain, '-b', '8', '-e', '64', '-f', '8', '-n', '2', '-w', '1', '-g', '2', '--progress=false'], {}, 50_000);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    for (const rank of [0, 1]) {
      const mine = r.stdout.split('\n').filter((l) => l.startsWith(`[rank ${rank}] `));
      expect(mine.some((l) => /#\s+size\s+count\s+type/.test(l)), `rank ${rank} printed a table`).toBe(true);
      expect(mine.some((l) => /Out of bounds values : 0 OK/.test(l))).toBe(true);
    }
  });
});
