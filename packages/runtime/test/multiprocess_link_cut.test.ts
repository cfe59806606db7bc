import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { fixturePath, run } from './helpers/bootstrap_procs.js';
import { cleanEnv } from './helpers/job_processes.js';
import { launchedJoinResults } from './helpers/launch_join_results.js';
import { createNetnsPair, netnsPair, netnsUnavailable, removeNetnsPair } from './helpers/netns_hosts.js';

// Two hosts as network namespaces; the veth between them is taken down while
// both processes all-reduce across it: every rank fails within its timeout,
// and World.close() releases everything without waiting on the dead link.
const pair = netnsPair(process.pid + 7);
const [nsA] = pair.names;
const [addrA] = pair.addresses;
const RUN_MS = 45_000;

const unavailable = netnsUnavailable(`cr${process.pid}q`);
if (unavailable) console.warn(`multiprocess_link_cut: SKIPPED — cannot create network namespaces: ${unavailable}`);

describe.skipIf(unavailable !== undefined)('a link cut between two hosts in the middle of a job', () => {
  beforeAll(() => createNetnsPair(pair));
  afterAll(() => {
    const left = removeNetnsPair(pair);
    if (left.length > 0) throw new Error(`could not remove the test's network namespaces: ${left.join('; ')}`);
  });

  it('fails every rank within its call timeout, and World.close() then returns promptly without EBUSY', async () => {
    const base = cleanEnv();
    let ready = 0;
    let cut!: () => void;
    const bothReady = new Promise<void>((resolve) => (cut = resolve));
    const procs = Promise.all(
      pair.names.map((ns, rank) => {
        let seen = false;
        return run('ip', ['netns', 'exec', ns, process.execPath, fixturePath('join_job')], {
          env: { ...base, RANK: String(rank), WORLD_SIZE: '2', MASTER_ADDR: addrA, MASTER_PORT: '29500', JOIN_JOB_DEVICES: '2', JOIN_JOB_MODULE: 'link_cut', JOIN_JOB_NO_CONTROLLER: '1' },
          timeoutMs: RUN_MS,
          onStdout: (all) => {
            if (!seen && all.includes('LINK_CUT_READY')) {
              seen = true;
              if (++ready === 2) cut();
            }
          },
        });
      }),
    );
    await bothReady;
    // Let the loops get going, then pull the cable.
    await new Promise((r) => setTimeout(r, 300));
    const down = spawnSync('ip', ['-n', nsA, 'link', 'set', pair.veth, 'down'], { encoding: 'utf8' });
    expect(down.status, down.stderr).toBe(0);
    const done = await procs;
    for (const [rank, p] of done.entries()) {
      expect(p.code, `process ${rank}:\n${p.stdout}\n${p.stderr}`).toBe(0);
      expect(`${p.stdout}\n${p.stderr}`).not.toMatch(/EBUSY/);
      const closed = /JOIN_CLOSED (\d+)/.exec(p.stderr);
      expect(closed, p.stderr).not.toBeNull();
      // The communicator is aborted: closing cancels what the dead link holds instead of draining it (was 10 s).
      expect(Number(closed![1])).toBeLessThan(3000);
    }
    for (const r of launchedJoinResults(done, 2).flatMap((x) => x.spmd as { rank: number; error: string | null; ms: number }[])) {
      expect(r.error, `rank ${r.rank}`).toMatch(/ETIMEDOUT|ENOTCONN|aborted/);
    }
  }, 60_000);
});
