import { describe, expect, it } from 'vitest';
import { expectOneWorld, freePort, jobResults } from '../../../packages/runtime/test/helpers/bootstrap_procs.js';
import { jobScript, runWorker, startRun } from './helpers/collective_run.js';

const node = (port: number, nodeRank: number, rdzvTimeout = '20') => ['--nnodes', '2', '--node-rank', String(nodeRank), '--master-addr', '127.0.0.1', '--master-port', String(port), '--rdzv-timeout', rdzvTimeout];

describe('collective-run across two "nodes" (two agents on one machine)', () => {
  it('node 0 hosts the store, ranks are node-major, and the job sees two boxes when told they are two', async () => {
    const port = await freePort();
    const a = startRun([...node(port, 0), '--nproc-per-node', '2', 'node', jobScript], { COLLECTIVE_HOST_ID: 'box-a' });
    const b = startRun([...node(port, 1), '--nproc-per-node', '2', 'node', jobScript], { COLLECTIVE_HOST_ID: 'box-b' });
    const [ra, rb] = await Promise.all([a.done, b.done]);
    expect(ra.code, ra.stdout + ra.stderr).toBe(0);
    expect(rb.code, rb.stdout + rb.stderr).toBe(0);
    expect(ra.stdout).toMatch(/^\[rank 0\] /m);
    expect(rb.stdout).toMatch(/^\[rank 3\] /m);
    const results = jobResults(ra.stdout + rb.stdout);
    expectOneWorld(results, 4);
    for (const x of results) {
      expect(x.hosts).toEqual([
        { hostId: 'box-a', ranks: [0, 1] },
        { hostId: 'box-b', ranks: [2, 3] },
      ]);
      expect([x.localRank, x.localWorldSize]).toEqual([x.rank % 2, 2]);
    }
  });

  it('a worker failing on node 1 stops node 0 as well; both agents exit with its code', async () => {
    const port = await freePort();
    const env = { RUN_WORKER_MODE: 'fail', FAIL_RANK: '3', FAIL_CODE: '5' };
    const a = startRun([...node(port, 0), '--nproc-per-node', '2', runWorker], env);
    const b = startRun([...node(port, 1), '--nproc-per-node', '2', runWorker], env);
    const [ra, rb] = await Promise.all([a.done, b.done]);
    expect(rb.code).toBe(5);
    expect(ra.code).toBe(5);
    expect(ra.stderr).toMatch(/collective-run: rank 3 \(node 1\) exited with code 5; stopping the other workers/);
    expect(ra.stdout).toMatch(/\[rank 0\] rank 0 got SIGTERM/);
    expect(ra.ms).toBeLessThan(15_000);
  });

  it('agents started with different --nproc-per-node refuse to start, naming the flag', async () => {
    const port = await freePort();
    const a = startRun([...node(port, 0), '--nproc-per-node', '2', runWorker]);
    const b = startRun([...node(port, 1), '--nproc-per-node', '3', runWorker]);
    const [ra, rb] = await Promise.all([a.done, b.done]);
    for (const r of [ra, rb]) {
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/was started with --nproc-per-node \d but node \d with \d; every node must use the same --nproc-per-node/);
      expect(r.stdout).toBe('');
    }
  });

  it('a node that never joins is named after --rdzv-timeout', async () => {
    const port = await freePort();
    const r = await startRun([...node(port, 0, '1'), runWorker]).done;
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/node 1 of 2 did not join within 1 s/);
  });
});
