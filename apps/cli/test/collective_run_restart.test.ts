import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { elasticExample, runCollective, runWorker, startRun, until } from './helpers/collective_run.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** Σ over steps s of Σ over ranks r of (r + 1) · s, summed here without the example's formula. */
function reference(worldSize: number, steps: number): number {
  let total = 0;
  for (let s = 1; s <= steps; s++) for (let r = 0; r < worldSize; r++) total += (r + 1) * s;
  return total;
}

describe('collective-run --max-restarts on one node', () => {
  it('a worker killed mid-job is restarted with the others, and the job resumes from its checkpoint to the right total', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'elastic-'));
    dirs.push(dir);
    const steps = 60;
    const run = startRun(['--standalone', '--nproc-per-node', '2', '--max-restarts', '1', '--term-timeout', '2', elasticExample, '--checkpoint', join(dir, 'ckpt.json'), '--steps', String(steps), '--every', '5', '--step-ms', '50'], {}, 50_000);
    await until(() => /checkpoint at step 10$/m.test(run.stdout()), 30_000, 'the checkpoint of step 10');
    const pid = Number(/\[rank 1\] rank 1 pid (\d+) attempt 0/.exec(run.stdout())?.[1]);
    process.kill(pid, 'SIGKILL');
    const r = await run.done;
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stderr).toMatch(/collective-run: rank 1 \(node 0\) killed by SIGKILL; stopping the other workers/);
    expect(r.stderr).toMatch(/collective-run: restart 1 of at most 1: starting the workers again as attempt 1/);
    // Both ranks of the new attempt start from the same checkpoint, past the kill and short of the end.
    const resumed = [...r.stdout.matchAll(/rank (\d) pid \d+ attempt 1 starts after step (\d+)/g)].map((m) => Number(m[2]));
    expect(resumed).toHaveLength(2);
    expect(resumed[0]).toBe(resumed[1]);
    expect(resumed[0]).toBeGreaterThanOrEqual(10);
    expect(resumed[0]).toBeLessThan(steps);
    expect(resumed[0]! % 5).toBe(0);
    const totals = [...r.stdout.matchAll(/^\[rank \d\] total (\d+) after/gm)].map((m) => Number(m[1]));
    expect(totals).toEqual([reference(2, steps), reference(2, steps)]);
  });

  it('gives up once the restarts are spent, naming the failing rank, its host and pid', async () => {
    const r = await runCollective(['--standalone', '--nproc-per-node', '2', '--max-restarts', '2', runWorker], { RUN_WORKER_MODE: 'fail', FAIL_RANK: '1', FAIL_CODE: '7' });
    expect(r.code).toBe(7);
    expect((r.stderr.match(/\[rank 1\] rank 1 fails/g) ?? []).length).toBe(3);
    expect(r.stderr).toMatch(/collective-run: restart 2 of at most 2/);
    const envs = [...r.stdout.matchAll(/^\[rank 1\] ENV (.*)$/gm)].map((m) => JSON.parse(m[1]!) as Record<string, string>);
    expect(envs.map((e) => [e.TORCHELASTIC_RESTART_COUNT, e.COLLECTIVE_RESTART_COUNT, e.TORCHELASTIC_MAX_RESTARTS])).toEqual([
      ['0', '0', '2'],
      ['1', '1', '2'],
      ['2', '2', '2'],
    ]);
    expect(r.stderr).toMatch(/collective-run: job failed after 2 restarts: rank 1 \([^,]+, pid \d+\) exited with code 7/);
  });

  it('a signal to collective-run ends the job even with restarts left', async () => {
    const run = startRun(['--standalone', '--nproc-per-node', '2', '--max-restarts', '3', runWorker], { RUN_WORKER_MODE: 'wait' });
    await until(() => (run.stdout().match(/ready/g) ?? []).length === 2, 15_000, 'both workers to be ready');
    run.child.kill('SIGTERM');
    const r = await run.done;
    expect(r.code).toBe(143);
    expect(r.stderr).not.toMatch(/restart 1/);
    expect(r.stdout).not.toMatch(/"TORCHELASTIC_RESTART_COUNT":"1"/);
  });
});
