import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const job = fileURLToPath(new URL('../dist-test/fixtures/debug_job.js', import.meta.url));

describe('COLLECTIVE_DEBUG', () => {
  it('INFO logs each rank joining (peers, connectors, provider), and with COLLECTIVE_DEBUG_SUBSYS=COLL (or ALL) the algorithm of every call', () => {
    const r = spawnSync(process.execPath, [job], { encoding: 'utf8', timeout: 30_000, env: { ...process.env, COLLECTIVE_DEBUG: 'INFO', COLLECTIVE_DEBUG_SUBSYS: 'ALL', COLLECTIVE_CONNECTOR: 'net' } });
    expect(r.status, r.stderr).toBe(0);
    for (const rank of [0, 1]) {
      expect(r.stderr).toMatch(new RegExp(`\\[${rank}\\] COLLECTIVE INFO joined communicator [0-9a-f]+-[0-9a-f]+ as rank ${rank} of 2 on device ${rank}: shm peers \\[\\], net peers \\[${1 - rank}\\] over provider shm`));
      expect(r.stderr).toMatch(new RegExp(`\\[${rank}\\] COLLECTIVE INFO allReduce #1: 2 × float32, op sum, root 0, algorithm oneshot`));
    }
  });

  it('INFO alone keeps to setup, as NCCL: no line per call unless the COLL subsystem is asked for; ^INIT leaves setup out', () => {
    const base = { ...process.env, COLLECTIVE_DEBUG: 'INFO', COLLECTIVE_CONNECTOR: 'net' };
    delete base.COLLECTIVE_DEBUG_SUBSYS;
    const r = spawnSync(process.execPath, [job], { encoding: 'utf8', timeout: 30_000, env: base });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/COLLECTIVE INFO joined communicator/);
    expect(r.stderr).not.toMatch(/COLLECTIVE INFO allReduce #1/);
    const calls = spawnSync(process.execPath, [job], { encoding: 'utf8', timeout: 30_000, env: { ...base, COLLECTIVE_DEBUG_SUBSYS: '^INIT' } });
    expect(calls.status, calls.stderr).toBe(0);
    expect(calls.stderr).not.toMatch(/joined communicator/);
    expect(calls.stderr).toMatch(/COLLECTIVE INFO allReduce #1/);
  });

  it('is silent when unset', () => {
    const env = { ...process.env };
    delete env.COLLECTIVE_DEBUG;
    const r = spawnSync(process.execPath, [job], { encoding: 'utf8', timeout: 30_000, env });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/COLLECTIVE/);
  });
});
