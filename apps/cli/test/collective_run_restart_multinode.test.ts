import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../../../packages/runtime/test/helpers/bootstrap_procs.js';
import { elasticExample, runWorker, startRun, until } from './helpers/collective_run.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const node = (port: number, nodeRank: number, restarts: number) => ['--nnodes', '2', '--node-rank', String(nodeRank), '--master-addr', '127.0.0.1', '--master-port', String(port), '--rdzv-timeout', '20', '--term-timeout', '2', '--max-restarts', String(restarts)];

describe('collective-run --max-restarts across two "nodes" (two agents on one machine)', () => {
  it("a worker killed on node 1 restarts node 0's workers too, and the job resumes from rank 0's checkpoint", async () => {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'elastic-'));
    dirs.push(dir);
    const job = [elasticExample, '--checkpoint', join(dir, 'ckpt.json'), '--steps', '60', '--every', '5', '--step-ms', '50'];
    const a = startRun([...node(port, 0, 1), ...job], {}, 50_000);
    const b = startRun([...node(port, 1, 1), ...job], {}, 50_000);
    await until(() => /checkpoint at step 10$/m.test(a.stdout()), 30_000, 'the checkpoint of step 10');
    process.kill(Number(/\[rank 1\] rank 1 pid (\d+) attempt 0/.exec(b.stdout())?.[1]), 'SIGKILL');
    const [ra, rb] = await Promise.all([a.done, b.done]);
    expect(ra.code, ra.stdout + ra.stderr).toBe(0);
    expect(rb.code, rb.stdout + rb.stderr).toBe(0);
    expect(ra.stderr).toMatch(/collective-run: rank 1 \(node 1\) killed by SIGKILL; stopping the other workers/);
    for (const r of [ra, rb]) expect(r.stderr).toMatch(/restart 1 of at most 1: starting the workers again as attempt 1/);
    const resumed = [...(ra.stdout + rb.stdout).matchAll(/rank \d pid \d+ attempt 1 starts after step (\d+)/g)].map((m) => Number(m[1]));
    expect(resumed).toHaveLength(2);
    expect(resumed[0]).toBe(resumed[1]);
    expect(resumed[0]).toBeGreaterThanOrEqual(10);
    // Σ_s Σ_r (r + 1) · s over 60 steps and 2 ranks: 3 · 1830.
    expect(ra.stdout).toMatch(/^\[rank 0\] total 5490 after 60 steps/m);
    expect(rb.stdout).toMatch(/^\[rank 1\] total 5490 after 60 steps/m);
  });

  it('every node gives up after the same number of restarts and exits with the failing code', async () => {
    const port = await freePort();
    const env = { RUN_WORKER_MODE: 'fail', FAIL_RANK: '3', FAIL_CODE: '5' };
    const a = startRun([...node(port, 0, 1), '--nproc-per-node', '2', runWorker], env);
    const b = startRun([...node(port, 1, 1), '--nproc-per-node', '2', runWorker], env);
    const [ra, rb] = await Promise.all([a.done, b.done]);
    for (const r of [ra, rb]) {
      expect(r.code, r.stderr).toBe(5);
      expect(r.stderr).toMatch(/job failed after 1 restart: rank 3 \([^,]+, pid \d+\) exited with code 5/);
    }
    // Node 0's workers ran twice: attempt 0 and attempt 1.
    expect((ra.stdout.match(/\[rank 0\] ENV /g) ?? []).length).toBe(2);
  });

  it('with restarts left, a job that succeeds everywhere ends on every node', async () => {
    const port = await freePort();
    const a = startRun([...node(port, 0, 2), runWorker]);
    const b = startRun([...node(port, 1, 2), runWorker]);
    const [ra, rb] = await Promise.all([a.done, b.done]);
    expect(ra.code, ra.stderr).toBe(0);
    expect(rb.code, rb.stderr).toBe(0);
    expect(ra.ms).toBeLessThan(15_000);
    expect(rb.ms).toBeLessThan(15_000);
  });

  it("a failure on node 1 after node 0's workers finished restarts node 0's workers as well", async () => {
    const port = await freePort();
    const env = { RUN_WORKER_MODE: 'fail-once', FAIL_RANK: '1', FAIL_CODE: '4' };
    const a = startRun([...node(port, 0, 1), runWorker], env);
    const b = startRun([...node(port, 1, 1), runWorker], env);
    const [ra, rb] = await Promise.all([a.done, b.done]);
    expect(ra.code, ra.stderr).toBe(0);
    expect(rb.code, rb.stderr).toBe(0);
    expect(ra.stderr).toMatch(/rank 1 \(node 1\) exited with code 4; this node's workers had finished/);
    // Rank 0 ran again, as attempt 1.
    expect(ra.stdout).toMatch(/\[rank 0\] ENV .*"COLLECTIVE_RESTART_COUNT":"1"/);
    expect(ra.ms).toBeLessThan(15_000);
  });

  it('agents started with different --max-restarts refuse to start, naming the flag', async () => {
    const port = await freePort();
    const a = startRun([...node(port, 0, 1), runWorker]);
    const b = startRun([...node(port, 1, 2), runWorker]);
    const [ra, rb] = await Promise.all([a.done, b.done]);
    for (const r of [ra, rb]) {
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/every node must use the same --max-restarts/);
    }
  });
});
