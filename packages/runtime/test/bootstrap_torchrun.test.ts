import { describe, expect, it } from 'vitest';
import { PYTHON, expectOneWorld, freePort, jobResults, jobScript, run, torchVersion } from './helpers/bootstrap_procs.js';

const torch = torchVersion();
if (!torch) console.warn('bootstrap_torchrun: SKIPPED — /usr/bin/python3 cannot import torch.distributed (apt-get install python3-torch)');

// Debian's torch 1.13 on Python 3.11 crashes in its own argument handling with
// the default --redirects 0 (Std(0) is not iterable as a flag any more), before
// any worker starts; --redirects 1 --tee 1 avoids it and still shows the output.
const TORCHRUN = ['-m', 'torch.distributed.run', '--no_python', '--monitor_interval', '0.2', '--redirects', '1', '--tee', '1'];

describe.skipIf(!torch)(`python3 -m torch.distributed.run --no_python ... node job.js (torch ${torch ?? 'not installed'})`, () => {
  it("static rendezvous: the workers use torchrun's agent store, torch's own TCPStore server, under /worker/attempt_0", async () => {
    const port = await freePort();
    const r = await run(PYTHON, [...TORCHRUN, '--nproc_per_node', '2', '--master_port', String(port), process.execPath, jobScript], { timeoutMs: 45_000 });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const results = jobResults(r.stdout);
    expectOneWorld(results, 2);
    for (const x of results) {
      expect(x.launcher).toBe('torchrun');
      expect(x.store).toMatchObject({ serve: false, prefix: '/worker/attempt_0' });
      expect(x.localRank).toBe(x.rank);
    }
  });

  it('--standalone (c10d rendezvous): no agent store, so worker rank 0 hosts our TCPStore at MASTER_PORT', async () => {
    const r = await run(PYTHON, [...TORCHRUN, '--standalone', '--nproc_per_node', '3', process.execPath, jobScript], { timeoutMs: 45_000 });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const results = jobResults(r.stdout);
    expectOneWorld(results, 3);
    for (const x of results) expect(x.store).toMatchObject({ serve: x.rank === 0, prefix: '' });
  });
});
