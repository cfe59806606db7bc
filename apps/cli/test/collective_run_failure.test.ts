import { describe, expect, it } from 'vitest';
import { runCollective, runWorker, startRun, until } from './helpers/collective_run.js';

describe('collective-run when a worker fails or a signal arrives', () => {
  it('stops the other workers when one fails and exits with its code', async () => {
    const r = await runCollective(['--standalone', '--nproc-per-node', '3', runWorker], { RUN_WORKER_MODE: 'fail', FAIL_RANK: '1', FAIL_CODE: '7' });
    expect(r.code).toBe(7);
    expect(r.stderr).toMatch(/\[rank 1\] rank 1 fails/);
    expect(r.stderr).toMatch(/collective-run: rank 1 \(node 0\) exited with code 7; stopping the other workers/);
    expect(r.stdout).toMatch(/\[rank 0\] rank 0 got SIGTERM/);
    expect(r.stdout).toMatch(/\[rank 2\] rank 2 got SIGTERM/);
    expect(r.ms).toBeLessThan(10_000);
  });

  it('kills a worker that ignores SIGTERM once --term-timeout has passed', async () => {
    const r = await runCollective(['--standalone', '--nproc-per-node', '2', '--term-timeout', '0.5', runWorker], { RUN_WORKER_MODE: 'stubborn', FAIL_RANK: '0', FAIL_CODE: '3' });
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(/\[rank 1\] rank 1 got SIGTERM/);
    expect(r.ms).toBeLessThan(10_000);
  });

  it.each([
    ['SIGTERM', 143],
    ['SIGINT', 130],
  ] as const)('forwards %s to every worker and exits with 128 + its number', async (signal, code) => {
    const run = startRun(['--standalone', '--nproc-per-node', '2', runWorker], { RUN_WORKER_MODE: 'wait' });
    await until(() => (run.stdout().match(/ready/g) ?? []).length === 2, 15_000, 'both workers to be ready');
    run.child.kill(signal);
    const r = await run.done;
    expect(r.code).toBe(code);
    expect(r.stdout).toMatch(new RegExp(`\\[rank 0\\] rank 0 got ${signal}`));
    expect(r.stdout).toMatch(new RegExp(`\\[rank 1\\] rank 1 got ${signal}`));
  });

  it('a command that cannot be started fails like a worker with code 127', async () => {
    const r = await runCollective(['--standalone', 'no-such-command-for-collective-run']);
    expect(r.code).toBe(127);
    expect(r.stderr).toMatch(/cannot start 'no-such-command-for-collective-run': not found \(is it on PATH\?\)/);
  });
});
