import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { PYTHON, fixturePath, freePort, hasCommand, run, torchVersion } from './helpers/bootstrap_procs.js';
import { cleanEnv } from './helpers/job_processes.js';
import { expectCollectivesJob, launchedJoinResults } from './helpers/launch_join_results.js';

// One script, three launchers: 2 processes × 2 devices each, every collective
// over one communicator, whatever started the processes.
const PROCS = 2;
const DEVICES = 2;
const joinJob = fixturePath('join_job');
const collectiveRun = fileURLToPath(new URL('../../../apps/cli/bin/collective-run.js', import.meta.url));
const jobEnv = (): NodeJS.ProcessEnv => ({ ...cleanEnv(), JOIN_JOB_DEVICES: String(DEVICES), JOIN_JOB_MODULE: 'job_collectives' });
// The launcher kills a hung job well before vitest's deadline, so the failure shows the job's output.
const RUN_MS = 40_000;
const TEST_MS = 60_000;

const mpirun = hasCommand('mpirun');
if (!mpirun) console.warn('multiprocess_launchers: mpirun case SKIPPED — mpirun not found (apt-get install openmpi-bin; .ci/run does)');
const torch = torchVersion();
if (!torch) console.warn('multiprocess_launchers: torchrun case SKIPPED — /usr/bin/python3 cannot import torch.distributed (apt-get install python3-torch; .ci/run does)');

// See bootstrap_torchrun.test.ts: Debian's torch 1.13 needs --redirects 1 --tee 1 to start workers at all.
const TORCHRUN = ['-m', 'torch.distributed.run', '--no_python', '--monitor_interval', '0.2', '--redirects', '1', '--tee', '1'];

describe(`join_job.js (${PROCS} processes × ${DEVICES} devices, every collective) under each launcher`, () => {
  it(
    'collective-run --standalone --nproc-per-node 2 node join_job.js',
    async () => {
      const r = await run(process.execPath, [collectiveRun, '--standalone', '--nproc-per-node', String(PROCS), 'node', joinJob], { env: jobEnv(), timeoutMs: RUN_MS });
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expectCollectivesJob(launchedJoinResults([r], PROCS), PROCS, DEVICES);
    },
    TEST_MS,
  );

  it.skipIf(!mpirun)(
    'mpirun -np 2 -x JOIN_JOB_DEVICES -x JOIN_JOB_MODULE node join_job.js',
    async () => {
      const args = ['--allow-run-as-root', '--oversubscribe', '-np', String(PROCS), '-x', 'JOIN_JOB_DEVICES', '-x', 'JOIN_JOB_MODULE', process.execPath, joinJob];
      const r = await run('mpirun', args, { env: jobEnv(), timeoutMs: RUN_MS });
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expectCollectivesJob(launchedJoinResults([r], PROCS), PROCS, DEVICES);
    },
    TEST_MS,
  );

  it.skipIf(!torch)(
    `python3 -m torch.distributed.run --no_python --nproc_per_node 2 node join_job.js (torch ${torch ?? 'not installed'}, static rendezvous: torch's TCPStore serves the job)`,
    async () => {
      // Static rendezvous at a free port rather than --standalone, whose c10d endpoint is the fixed localhost:29400.
      const port = await freePort();
      const args = [...TORCHRUN, '--nproc_per_node', String(PROCS), '--master_addr', '127.0.0.1', '--master_port', String(port), process.execPath, joinJob];
      const r = await run(PYTHON, args, { env: jobEnv(), timeoutMs: RUN_MS });
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expectCollectivesJob(launchedJoinResults([r], PROCS), PROCS, DEVICES);
    },
    TEST_MS,
  );
});
