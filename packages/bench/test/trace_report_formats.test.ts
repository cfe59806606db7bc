import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { traceReport } from '@collective/bench';
import { describe, expect, it } from 'vitest';

const entry = (seq: number, kind: string, state: string) => ({ seq, kind, count: 8, dtype: 'float32', op: 'sum', root: 0, algorithm: 'ring', state, startMs: null, durationUs: null });

/** A dump as the runtime wrote it before user calls and steps were recorded. */
const v1 = (rank: number, lastSeq: number, error: string | null) => ({
  format: 'collective-trace/1',
  comm: 'a-1',
  rank,
  size: 3,
  pid: 100 + rank,
  thread: rank,
  host: 'h',
  error,
  abortedBy: null,
  lastSeq,
  calls: Array.from({ length: lastSeq }, (_, i) => entry(i + 1, 'allReduce', i + 1 === lastSeq && error ? 'failed' : 'completed')),
});

describe('collective-bench trace reads older flight records and copies from several hosts', () => {
  it("reads 'collective-trace/1' dumps in subdirectories, joins them by communicator, and names the rank behind", () => {
    const dir = mkdtempSync(join(tmpdir(), 'trace-v1-'));
    // As copied from two hosts: one directory each, and one dump copied twice.
    for (const [host, rank, seq, error] of [['h0', 0, 5, 'allReduce #5: rank 2 did not arrive within 100 ms'], ['h1', 1, 5, 'allReduce #5: rank 2 did not arrive within 100 ms'], ['h1', 2, 4, null], ['h0', 1, 5, 'allReduce #5: rank 2 did not arrive within 100 ms']] as const) {
      mkdirSync(join(dir, host), { recursive: true });
      writeFileSync(join(dir, host, `comm-a-1-rank-${rank}.json`), JSON.stringify(v1(rank, seq, error)));
    }
    const verdicts = traceReport(dir);
    expect(verdicts).toHaveLength(1);
    expect(verdicts[0]!.stuck).toEqual([2]);
    expect(verdicts[0]!.call).toBe('allReduce #5');
    const text = verdicts[0]!.lines.join('\n');
    expect(text).toMatch(/flight records from rank\(s\) 0, 1, 2\n/);
    expect(text).toMatch(/rank 2 \(host h, pid 102\) is behind: it never started allReduce #5 \(its last call, allReduce #4, completed\)/);
  });

  it('names the rank the others timed out on when every rank stands at the same call', () => {
    const dir = mkdtempSync(join(tmpdir(), 'trace-named-'));
    const named = 'allReduce #3: rank 1 (host h, pid 101; rank 0 of the step\'s group) did not arrive within 100 ms';
    for (const rank of [0, 1, 2]) writeFileSync(join(dir, `comm-a-1-rank-${rank}.json`), JSON.stringify({ ...v1(rank, 3, rank === 1 ? 'allReduce #3: aborted' : named), size: 3 }));
    const [v] = traceReport(dir);
    expect(v!.stuck).toEqual([1]);
    expect(v!.lines.join('\n')).toMatch(/rank 1 \(host h, pid 101\) is named by its peers' timeouts in allReduce #3/);
  });

  it('refuses a file that is not a flight record, naming it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'trace-bad-'));
    writeFileSync(join(dir, 'comm-x-rank-0.json'), JSON.stringify({ format: 'something-else' }));
    expect(() => traceReport(dir)).toThrow(/comm-x-rank-0\.json is not a flight record of this runtime \(format something-else\)/);
  });
});
