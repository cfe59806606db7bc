import { describe, expect, it } from 'vitest';
import { derivePort, resolveLaunchEnv } from '@collective/rendezvous';

const torchrunEnv = {
  RANK: '3',
  WORLD_SIZE: '4',
  LOCAL_RANK: '1',
  LOCAL_WORLD_SIZE: '2',
  GROUP_RANK: '1',
  GROUP_WORLD_SIZE: '2',
  MASTER_ADDR: '10.0.0.1',
  MASTER_PORT: '29500',
  TORCHELASTIC_RUN_ID: 'job7',
  TORCHELASTIC_RESTART_COUNT: '2',
  TORCHELASTIC_USE_AGENT_STORE: 'True',
};

const slurmEnv = {
  SLURM_JOB_ID: '4242',
  SLURM_STEP_ID: '0',
  SLURM_PROCID: '5',
  SLURM_NTASKS: '6',
  SLURM_LOCALID: '1',
  SLURM_NODEID: '2',
  SLURM_STEP_NODELIST: 'node[001-002,010]',
  SLURM_STEP_NUM_NODES: '3',
  SLURM_STEP_TASKS_PER_NODE: '2(x3)',
};

const ompiEnv = {
  OMPI_COMM_WORLD_RANK: '1',
  OMPI_COMM_WORLD_SIZE: '3',
  OMPI_COMM_WORLD_LOCAL_RANK: '1',
  OMPI_COMM_WORLD_LOCAL_SIZE: '3',
  OMPI_MCA_ess_base_jobid: '1335296001',
  OMPI_MCA_orte_hnp_uri: '1335296000.0;tcp://192.0.2.2:40631',
};

describe('launch environment resolution', () => {
  it('torchrun with the agent store: clients under /worker/attempt_<restart>', () => {
    expect(resolveLaunchEnv(torchrunEnv)).toEqual({
      launcher: 'torchrun',
      rank: 3,
      worldSize: 4,
      localRank: 1,
      localWorldSize: 2,
      nodeRank: 1,
      nodeCount: 2,
      restartCount: 2,
      runId: 'job7',
      store: { kind: 'tcp', host: '10.0.0.1', port: 29500, serve: false, prefix: '/worker/attempt_2', dialect: 'auto', source: 'MASTER_ADDR/MASTER_PORT (agent store)' },
    });
  });

  it('torchrun without the agent store (c10d, --standalone): rank 0 hosts the store at MASTER_PORT', () => {
    const env = { ...torchrunEnv, RANK: '0', LOCAL_RANK: '0', GROUP_RANK: '0', TORCHELASTIC_USE_AGENT_STORE: 'False' };
    expect(resolveLaunchEnv(env).store).toEqual({ kind: 'tcp', host: '10.0.0.1', port: 29500, serve: true, dialect: 'auto', source: 'MASTER_ADDR/MASTER_PORT' });
    expect(resolveLaunchEnv({ ...env, RANK: '1' }).store).toMatchObject({ serve: false });
  });

  it('Kubernetes-style RANK/WORLD_SIZE/MASTER_ADDR/MASTER_PORT: launcher env, rank 0 hosts', () => {
    const r = resolveLaunchEnv({ RANK: '0', WORLD_SIZE: '8', MASTER_ADDR: 'job-master-0.job', MASTER_PORT: '23456' });
    expect(r).toMatchObject({ launcher: 'env', rank: 0, worldSize: 8, runId: 'env-job-master-0.job:23456', store: { kind: 'tcp', host: 'job-master-0.job', port: 23456, serve: true } });
    expect(r.store).not.toHaveProperty('listenHost');
    expect(r.localRank).toBeUndefined();
    // A loopback master address is listened on as such, not on every interface.
    expect(resolveLaunchEnv({ RANK: '0', WORLD_SIZE: '2', MASTER_ADDR: 'localhost', MASTER_PORT: '23456' }).store).toMatchObject({ listenHost: '127.0.0.1' });
  });

  it('collective-run names itself', () => {
    expect(resolveLaunchEnv({ ...torchrunEnv, COLLECTIVE_LAUNCHER: 'collective-run' }).launcher).toBe('collective-run');
  });

  it('Open MPI on one node: 127.0.0.1 and a port derived from the job id, rank 0 hosts', () => {
    const r = resolveLaunchEnv(ompiEnv);
    const port = derivePort('ompi:1335296001|1335296000.0;tcp://192.0.2.2:40631');
    expect(r).toMatchObject({ launcher: 'openmpi', rank: 1, worldSize: 3, localRank: 1, localWorldSize: 3, runId: 'openmpi-1335296001' });
    expect(r.store).toMatchObject({ kind: 'tcp', host: '127.0.0.1', port, serve: false });
    expect(resolveLaunchEnv({ ...ompiEnv, OMPI_COMM_WORLD_RANK: '0' }).store).toMatchObject({ serve: true, listenHost: '127.0.0.1', port });
    expect(port).toBeGreaterThanOrEqual(20000);
    expect(port).toBeLessThan(32000);
  });

  it('Open MPI across nodes needs MASTER_ADDR (mpirun -x) and says so', () => {
    const multi = { ...ompiEnv, OMPI_COMM_WORLD_LOCAL_SIZE: '2', OMPI_COMM_WORLD_SIZE: '4' };
    expect(() => resolveLaunchEnv(multi)).toThrow(/ENOENT: MASTER_ADDR is not set; the job spans several nodes .*mpirun -x MASTER_ADDR=.*\(launcher detected: openmpi\)/);
    expect(resolveLaunchEnv({ ...multi, MASTER_ADDR: 'n1', MASTER_PORT: '29400' }).store).toMatchObject({ host: 'n1', port: 29400, serve: false });
    expect(() => resolveLaunchEnv({ ...multi, MASTER_ADDR: 'n1' })).toThrow(/MASTER_PORT is not set; MASTER_ADDR=n1 is set.*openmpi/);
  });

  it('MPICH (PMI_RANK, PMI_SIZE, MPI_LOCALRANKID)', () => {
    const env = { PMI_RANK: '2', PMI_SIZE: '4', MPI_LOCALRANKID: '2', MPI_LOCALNRANKS: '4', PMI_KVSNAME: 'kvs_99_0' };
    expect(resolveLaunchEnv(env)).toMatchObject({ launcher: 'mpich', rank: 2, worldSize: 4, localRank: 2, localWorldSize: 4, store: { kind: 'tcp', host: '127.0.0.1', port: derivePort('mpich:kvs_99_0') } });
    // Without a job id, Hydra's per-node proxy (the ranks' common parent) keys the port.
    const { PMI_KVSNAME: _k, ...bare } = env;
    expect(resolveLaunchEnv(bare, { parentPid: 777 }).store).toMatchObject({ port: derivePort('mpich:hydra-proxy-777') });
  });

  it('srun --mpi=pmi2 (PMI_* and a Slurm step that agree) across nodes takes the address from the step', () => {
    const env = { ...slurmEnv, PMI_RANK: '5', PMI_SIZE: '6', PMI_JOBID: '4242.0', MPI_LOCALNRANKS: '2' };
    expect(resolveLaunchEnv(env)).toMatchObject({ launcher: 'slurm', rank: 5, store: { host: 'node001' } });
    // mpirun's ranks under an allocation inherit the Slurm variables of its daemons: those do not agree, so no guess.
    expect(() => resolveLaunchEnv({ ...env, PMI_RANK: '1' })).toThrow(/MASTER_ADDR is not set.*\(launcher detected: mpich\)/);
  });

  it('a Slurm job step: first host of the expanded nodelist, port from SLURM_JOB_ID, local size from tasks-per-node', () => {
    const r = resolveLaunchEnv(slurmEnv);
    expect(r).toMatchObject({ launcher: 'slurm', rank: 5, worldSize: 6, localRank: 1, localWorldSize: 2, nodeRank: 2, nodeCount: 3, runId: 'slurm-4242.0' });
    expect(r.store).toEqual({ kind: 'tcp', host: 'node001', port: derivePort('slurm:4242.0'), serve: false, dialect: 'auto', source: 'first host of SLURM_STEP_NODELIST and a port derived from SLURM_JOB_ID' });
    expect(resolveLaunchEnv({ ...slurmEnv, MASTER_PORT: '1234', MASTER_ADDR: 'head' }).store).toMatchObject({ host: 'head', port: 1234 });
  });

  it('an sbatch script (SLURM_PROCID but no step) is a single process', () => {
    const { SLURM_STEP_ID: _s, ...batch } = slurmEnv;
    expect(resolveLaunchEnv(batch)).toMatchObject({ launcher: 'single', rank: 0, worldSize: 1, store: { kind: 'hash' } });
  });

  it('detects in order: torchrun variables win over Open MPI, Open MPI over Slurm', () => {
    expect(resolveLaunchEnv({ ...slurmEnv, ...ompiEnv, ...torchrunEnv }).launcher).toBe('torchrun');
    expect(resolveLaunchEnv({ ...slurmEnv, ...ompiEnv }).launcher).toBe('openmpi');
    expect(resolveLaunchEnv({ ...slurmEnv, PMI_RANK: '0', PMI_SIZE: '1' }).launcher).toBe('mpich');
    expect(resolveLaunchEnv({}).launcher).toBe('single');
  });

  it('COLLECTIVE_COMM_ID=host:port overrides the launcher: rank 0 hosts there, as NCCL_COMM_ID', () => {
    expect(resolveLaunchEnv({ ...ompiEnv, OMPI_COMM_WORLD_RANK: '0', COLLECTIVE_COMM_ID: '10.1.2.3:4000' }).store).toEqual({ kind: 'tcp', host: '10.1.2.3', port: 4000, serve: true, dialect: 'auto', source: 'COLLECTIVE_COMM_ID' });
    expect(resolveLaunchEnv({ ...torchrunEnv, COLLECTIVE_COMM_ID: '[fd00::1]:4000' }).store).toMatchObject({ host: 'fd00::1', port: 4000, serve: false });
    expect(resolveLaunchEnv({ COLLECTIVE_COMM_ID: '127.0.0.1:4000' }).store).toMatchObject({ serve: true, listenHost: '127.0.0.1' });
    expect(() => resolveLaunchEnv({ COLLECTIVE_COMM_ID: 'nohostport' })).toThrow(/COLLECTIVE_COMM_ID must be host:port .*\(got "nohostport"\) \(launcher detected: single\)/);
  });

  it.each([
    [{ RANK: '0' }, /ENOENT: WORLD_SIZE is not set.*\(launcher detected: env\)/],
    [{ WORLD_SIZE: '2', LOCAL_RANK: '0' }, /ENOENT: RANK is not set.*\(launcher detected: torchrun\)/],
    [{ RANK: '2', WORLD_SIZE: '2', MASTER_ADDR: 'a', MASTER_PORT: '1' }, /RANK=2 must be less than WORLD_SIZE=2 \(launcher detected: env\)/],
    [{ RANK: 'one', WORLD_SIZE: '2' }, /RANK must be a non-negative integer \(got "one"\)/],
    [{ RANK: '0', WORLD_SIZE: '2' }, /MASTER_ADDR is not set; with WORLD_SIZE > 1.*\(launcher detected: env\)/],
    [{ RANK: '0', WORLD_SIZE: '2', MASTER_ADDR: 'a', MASTER_PORT: '70000' }, /MASTER_PORT must be a port from 1 to 65535 \(got 70000\)/],
    [{ ...torchrunEnv, LOCAL_RANK: '2' }, /LOCAL_RANK=2 must be less than LOCAL_WORLD_SIZE=2 \(launcher detected: torchrun\)/],
    [{ ...torchrunEnv, TORCHELASTIC_RESTART_COUNT: undefined }, /TORCHELASTIC_RESTART_COUNT is not set; with TORCHELASTIC_USE_AGENT_STORE=True the key prefix is \/worker\/attempt_/],
    [{ ...ompiEnv, OMPI_COMM_WORLD_RANK: '3' }, /OMPI_COMM_WORLD_RANK=3 must be less than OMPI_COMM_WORLD_SIZE=3 \(launcher detected: openmpi\)/],
    [{ ...ompiEnv, OMPI_MCA_ess_base_jobid: undefined }, /OMPI_MCA_ess_base_jobid is not set; neither .* nor MASTER_ADDR\/MASTER_PORT/],
    [{ PMI_RANK: '0' }, /PMI_SIZE is not set.*\(launcher detected: mpich\)/],
    [{ ...slurmEnv, SLURM_STEP_NODELIST: undefined }, /SLURM_STEP_NODELIST is not set.*\(launcher detected: slurm\)/],
    [{ ...slurmEnv, SLURM_STEP_NODELIST: 'node[1-' }, /SLURM_STEP_NODELIST: unclosed '\['.*\(launcher detected: slurm\)/],
    [{ ...slurmEnv, SLURM_STEP_NUM_NODES: '4' }, /SLURM_STEP_NUM_NODES=4 but SLURM_STEP_NODELIST names 3 hosts/],
    [{ ...slurmEnv, SLURM_NODEID: '3' }, /SLURM_NODEID=3 must be less than the number of hosts in SLURM_STEP_NODELIST=3/],
    [{ ...slurmEnv, SLURM_STEP_TASKS_PER_NODE: '2(x2),1' }, /SLURM_STEP_TASKS_PER_NODE adds up to 5 tasks but SLURM_NTASKS=6/],
    [{ ...slurmEnv, SLURM_LOCALID: '2' }, /SLURM_LOCALID=2 must be less than this node's count in SLURM_STEP_TASKS_PER_NODE=2/],
    [{ ...slurmEnv, SLURM_JOB_ID: undefined }, /SLURM_JOB_ID is not set; the store port is derived from it unless MASTER_PORT is set/],
    [{ ...slurmEnv, SLURM_PROCID: '0', SLURM_NODEID: '1' }, /SLURM_PROCID=0 runs on node 1 .*set MASTER_ADDR/],
    [{ COLLECTIVE_COMM_ID: 'h:1', COLLECTIVE_STORE_DIALECT: 'v3' }, /COLLECTIVE_STORE_DIALECT must be auto, legacy or v2 \(got "v3"\)/],
  ])('a missing or inconsistent value is named, with the launcher: %j', (env, message) => {
    const clean = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined));
    expect(() => resolveLaunchEnv(clean)).toThrow(message);
  });
});
