import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { traceReport } from '@collective/bench';
import { describe, expect, it } from 'vitest';
import { joinResults, startJob } from '../../runtime/test/helpers/job_processes.js';

const TIMEOUT_MS = 2000;

describe('collective-bench trace over the flight records of a job of several processes', () => {
  it.each([
    // procs, devices per process, what goes wrong, on which job rank, ranks the verdict names, good calls before
    [2, 2, 'skip', 1, [1], 3],
    // In the first hierarchical call, which makes the step groups by splits of the job's communicator.
    [2, 2, 'skip', 3, [3], 0],
    [3, 2, 'skip', 4, [4], 3],
    [2, 2, 'sleep', 2, [2], 3],
    [3, 2, 'sleep', 3, [3], 3],
    [3, 2, 'kill', 3, [2, 3], 3],
  ] as const)('%i processes × %i devices, a rank that does "%s" (job rank %i): one verdict for the job communicator, naming job rank(s) %j in the user\'s allReduce after %i good calls', async (procs, devices, mode, culprit, expected, CALLS) => {
    const dir = mkdtempSync(join(tmpdir(), 'trace-job-'));
    const run = await startJob({
      procs,
      devices,
      module: 'trace_job',
      args: { mode, culprit, calls: CALLS, timeoutMs: TIMEOUT_MS },
      // Each process dumps into its own directory, as copies from several hosts would sit side by side.
      // The communicator's default deadline, shorter than the 30 s of the fixture: no wait of a failing job keeps it long.
      env: (p) => ({ JOIN_JOB_NO_CONTROLLER: '1', JOIN_JOB_CALL_TIMEOUT_MS: '8000', COLLECTIVE_DUMP_DIR: join(dir, `process-${p}`) }),
      timeoutMs: 50_000,
    });
    const killed = mode === 'kill' ? Math.floor(culprit / devices) : -1;
    const results = joinResults(run.filter((_, p) => p !== killed)).flatMap((r) => r.spmd as { rank: number; error: string | null }[]);
    // Every error names the user's call (a step of it in parentheses) and every rank in it with host and pid.
    for (const { rank, error } of results) {
      expect(error, `rank ${rank}`).toMatch(new RegExp(`^[A-Z]+: (allReduce|barrier) #${CALLS + 1}[ :]`));
      for (const m of error!.matchAll(/rank (\d+)( \(([^)]*)\))?/g)) expect(m[3] ?? '', `rank ${rank}: ${error}`).toMatch(/^host [^,]+, pid \d+/);
    }
    const verdicts = traceReport(dir);
    const report = verdicts.flatMap((v) => v.lines).join('\n');
    // One communicator, one verdict: the hierarchy's internal groups are recorded under it, and its id is the same on every process.
    expect(verdicts.length, report).toBe(1);
    const v = verdicts[0]!;
    expect(v.size).toBe(procs * devices);
    expect(v.stuck.sort(), report).toEqual([...expected]);
    expect(v.call, report).toBe(`allReduce #${CALLS + 1}`);
    const stuckLine = report.split('\n').find((l) => l.startsWith('=> stuck:'))!;
    for (const r of expected) expect(stuckLine, report).toMatch(new RegExp(`rank ${r} \\(host [^,]+, pid \\d+\\)`));
    // The survivors' records speak of the user's call, its steps in parentheses; never of a step as if it were the call.
    expect(report).toMatch(new RegExp(`last call allReduce #${CALLS + 1}`));
    expect(report).not.toMatch(/last call (reduce|broadcast|split) #/);
    if (mode === 'skip') expect(report).toMatch(new RegExp(`rank ${culprit} \\([^)]*\\) called barrier #${CALLS + 1} where the others called allReduce #${CALLS + 1}`));
    if (CALLS === 0) expect(report).toMatch(/last call allReduce #1, in step split #\d+ \(\d+ × int32, direct\) failed/);
    if (mode === 'sleep') expect(report).toMatch(new RegExp(`rank ${culprit} \\([^)]*\\) is behind: it never started allReduce #${CALLS + 1} \\(its last call, allReduce #${CALLS}, completed\\)`));
    if (mode === 'kill') expect(report).toMatch(/rank 2 \([^)]*\) wrote no flight record/);
  }, 60_000);
});
