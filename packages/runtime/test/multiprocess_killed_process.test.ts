import { describe, expect, it } from 'vitest';
import { joinResults, startJob } from './helpers/job_processes.js';

describe('a process killed in the middle of a collective', () => {
  it('fails every other rank within its timeout, naming the lost rank and host; the job aborts and the others exit cleanly', async () => {
    // 3 processes × 2 devices; rank 3 (process 1) kills its whole process.
    const t0 = performance.now();
    const procs = await startJob({ procs: 3, devices: 2, module: 'kill_process', args: { victim: 3 }, env: () => ({ JOIN_JOB_NO_CONTROLLER: '1' }), timeoutMs: 45_000 });
    const wall = performance.now() - t0;
    expect(procs[1]!.signal).toBe('SIGKILL');
    const survivors = joinResults([procs[0]!, procs[2]!]);
    for (const p of [procs[0]!, procs[2]!]) {
      expect(p.code, p.stderr).toBe(0);
      // Leaving does not wait for the lost process.
      const closed = Number(/JOIN_CLOSED (\d+)/.exec(p.stderr)?.[1]);
      expect(closed).toBeLessThan(10_000);
    }
    for (const r of survivors.flatMap((s) => s.spmd as { rank: number; error: string | null; ms: number; asyncError: string | null }[])) {
      expect(r.error, `rank ${r.rank}`).not.toBeNull();
      // Either the connection to the lost process failed, or a peer's abort (naming it) arrived first.
      expect(r.error).toMatch(/rank [23] \(host [\d.]+, pid \d+[;)]|connection to tcp peer [\d.]+:\d+ .*was lost|aborted by rank/);
      expect(r.asyncError).not.toBeNull();
      expect(r.ms).toBeLessThan(15_000);
    }
    expect(wall).toBeLessThan(40_000);
  }, 60_000);
});
