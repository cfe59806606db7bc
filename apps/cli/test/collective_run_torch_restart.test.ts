import { describe, expect, it } from 'vitest';
import { PYTHON, torchVersion } from '../../../packages/runtime/test/helpers/bootstrap_procs.js';
import { gloojob, runCollective } from './helpers/collective_run.js';

const torch = torchVersion();
if (!torch) console.warn('collective_run_torch_restart: SKIPPED — /usr/bin/python3 cannot import torch.distributed (apt-get install python3-torch)');

describe.skipIf(!torch)(`a PyTorch job under collective-run --max-restarts (torch ${torch ?? 'not installed'})`, () => {
  it("a rank lost in the first attempt: the restarted job's env:// rendezvous runs afresh under /worker/attempt_1", async () => {
    // Had the second attempt seen the first one's keys (all under /worker/attempt_0),
    // gloo would connect to the first attempt's dead addresses: "connect ...: Connection refused".
    const r = await runCollective(['--standalone', '--nproc-per-node', '2', '--max-restarts', '1', PYTHON, gloojob], { GLOO_JOB_FAIL_RANK: '1' }, 100_000);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stderr).toMatch(/collective-run: rank 1 \(node 0\) exited with code 3; stopping the other workers/);
    expect(r.stderr).toMatch(/collective-run: restart 1 of at most 1/);
    const lines = [...new Set(r.stdout.split('\n').filter((l) => l.includes('GLOO_RESULT')))].sort();
    expect(lines).toEqual([0, 1].map((rank) => `[rank ${rank}] GLOO_RESULT rank=${rank} world=2 sum=3`));
  }, 120_000);
});
