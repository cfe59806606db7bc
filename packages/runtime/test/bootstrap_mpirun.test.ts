import { describe, expect, it } from 'vitest';
import { expectOneWorld, hasCommand, jobResults, jobScript, run } from './helpers/bootstrap_procs.js';

const mpirun = hasCommand('mpirun');
if (!mpirun) console.warn('bootstrap_mpirun: SKIPPED — mpirun not found (apt-get install openmpi-bin; .ci/run does)');

describe.skipIf(!mpirun)('mpirun -np 3 node job.js', () => {
  it('rendezvouses through a store on 127.0.0.1 at a port derived from the Open MPI job id', async () => {
    const r = await run('mpirun', ['--allow-run-as-root', '--oversubscribe', '-np', '3', process.execPath, jobScript], { timeoutMs: 40_000 });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const results = jobResults(r.stdout);
    expectOneWorld(results, 3);
    for (const x of results) {
      expect(x.launcher).toBe('openmpi');
      expect(x.store.serve).toBe(x.rank === 0);
      expect(x.store.source).toMatch(/port derived from OMPI_MCA_ess_base_jobid/);
      expect(x.localRank).toBe(x.rank);
      expect(x.localWorldSize).toBe(3);
    }
    expect(results[0]?.hosts).toHaveLength(1);
  });
});
