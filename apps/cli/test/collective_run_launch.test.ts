import { describe, expect, it } from 'vitest';
import { expectOneWorld, jobResults } from '../../../packages/runtime/test/helpers/bootstrap_procs.js';
import { jobScript, runCollective, runWorker } from './helpers/collective_run.js';

describe('collective-run --nproc-per-node 3 node job.js', () => {
  it('starts the workers with torchrun\'s variables and an agent store, and they rendezvous through it', async () => {
    const r = await runCollective(['--standalone', '--nproc-per-node', '3', 'node', jobScript]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const results = jobResults(r.stdout);
    expectOneWorld(results, 3);
    for (const x of results) {
      expect(x.launcher).toBe('collective-run');
      expect(x.store).toMatchObject({ serve: false, prefix: '/worker/attempt_0', source: 'MASTER_ADDR/MASTER_PORT (agent store)' });
      expect([x.localRank, x.localWorldSize]).toEqual([x.rank, 3]);
    }
    // Every line carries its rank.
    for (const line of r.stdout.trim().split('\n')) expect(line).toMatch(/^\[rank [0-2]\] /);
  });

  it('sets the torchrun environment, prefixes whole lines only, and runs a .js script with this node', async () => {
    const r = await runCollective(['--nproc-per-node', '2', '--master-port', '0', '--run-id', 'job42', runWorker]);
    expect(r.code, r.stderr).toBe(0);
    const envs = r.stdout
      .split('\n')
      .map((l) => /^\[rank (\d)\] ENV (.*)$/.exec(l))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => [Number(m[1]), JSON.parse(m[2] as string)] as const)
      .sort((a, b) => a[0] - b[0]);
    expect(envs.map(([rank]) => rank)).toEqual([0, 1]);
    const port = envs[0]?.[1].MASTER_PORT;
    expect(Number(port)).toBeGreaterThan(0);
    envs.forEach(([rank, env]) =>
      expect(env).toEqual({
        RANK: String(rank),
        LOCAL_RANK: String(rank),
        WORLD_SIZE: '2',
        LOCAL_WORLD_SIZE: '2',
        GROUP_RANK: '0',
        GROUP_WORLD_SIZE: '1',
        MASTER_ADDR: '127.0.0.1',
        MASTER_PORT: port,
        TORCHELASTIC_USE_AGENT_STORE: 'True',
        TORCHELASTIC_RESTART_COUNT: '0',
        TORCHELASTIC_MAX_RESTARTS: '0',
        COLLECTIVE_RESTART_COUNT: '0',
        TORCHELASTIC_RUN_ID: 'job42',
        OMP_NUM_THREADS: '1',
      }),
    );
    // Written in two pieces, printed as one line, never split by another rank's output.
    expect(r.stdout).toMatch(/^\[rank 0\] a line in two writes: second half$/m);
    expect(r.stdout).toMatch(/^\[rank 1\] a line in two writes: second half$/m);
  });

  it('--no-prefix passes output through untouched', async () => {
    const r = await runCollective(['--standalone', '--no-prefix', runWorker]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^ENV /m);
    expect(r.stdout).not.toMatch(/\[rank/);
  });
});
