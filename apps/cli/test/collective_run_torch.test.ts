import { describe, expect, it } from 'vitest';
import { PYTHON, torchVersion } from '../../../packages/runtime/test/helpers/bootstrap_procs.js';
import { gloojob, runCollective } from './helpers/collective_run.js';

const torch = torchVersion();
if (!torch) console.warn('collective_run_torch: SKIPPED — /usr/bin/python3 cannot import torch.distributed (apt-get install python3-torch)');

describe.skipIf(!torch)(`a PyTorch job under collective-run, unchanged from torchrun (torch ${torch ?? 'not installed'})`, () => {
  it("init_process_group('gloo') with env:// rendezvouses through collective-run's agent store and all_reduces", async () => {
    const r = await runCollective(['--standalone', '--nproc-per-node', '3', PYTHON, gloojob], {}, 50_000);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const lines = r.stdout.split('\n').filter((l) => l.includes('GLOO_RESULT')).sort();
    expect(lines).toEqual([0, 1, 2].map((rank) => `[rank ${rank}] GLOO_RESULT rank=${rank} world=3 sum=6`));
  });
});
