import { describe, expect, it } from 'vitest';
import { expectOneWorld, freePort, jobResults, runJobProcesses } from './helpers/bootstrap_procs.js';

describe('Kubernetes-style launch: RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT and nothing else', () => {
  it('rank 0 hosts the TCPStore at MASTER_PORT and the others join it', async () => {
    const port = await freePort();
    const envs = [0, 1, 2].map((rank) => ({ RANK: String(rank), WORLD_SIZE: '3', MASTER_ADDR: '127.0.0.1', MASTER_PORT: String(port) }));
    const procs = await runJobProcesses(envs);
    for (const p of procs) expect(p.code, p.stdout + p.stderr).toBe(0);
    const results = jobResults(procs.map((p) => p.stdout).join('\n'));
    expectOneWorld(results, 3);
    for (const x of results) expect(x).toMatchObject({ launcher: 'env', store: { serve: x.rank === 0, prefix: '' } });
  });

  it('COLLECTIVE_COMM_ID=host:port puts the store there, as NCCL_COMM_ID does, whatever the launcher', async () => {
    const port = await freePort();
    const envs = [0, 1].map((rank) => ({ OMPI_COMM_WORLD_RANK: String(rank), OMPI_COMM_WORLD_SIZE: '2', COLLECTIVE_COMM_ID: `127.0.0.1:${port}` }));
    const procs = await runJobProcesses(envs);
    for (const p of procs) expect(p.code, p.stdout + p.stderr).toBe(0);
    const results = jobResults(procs.map((p) => p.stdout).join('\n'));
    expectOneWorld(results, 2);
    for (const x of results) expect(x.store).toMatchObject({ source: 'COLLECTIVE_COMM_ID', serve: x.rank === 0 });
  });

  it('a single process with no launcher runs on an in-process store', async () => {
    const [p] = await runJobProcesses([{}]);
    expect(p?.code, p?.stdout).toBe(0);
    const [x] = jobResults(p?.stdout ?? '');
    expect(x).toMatchObject({ rank: 0, worldSize: 1, launcher: 'single', store: { kind: 'hash' }, reached: [0] });
  });
});
