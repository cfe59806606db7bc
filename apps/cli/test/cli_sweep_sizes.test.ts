import { describe, expect, it } from 'vitest';
import { dataRows, runCli } from './helpers/run_cli.js';

describe('collective-bench sizes a collective cannot run', () => {
  it('refuses a sweep with no valid size before printing a table', () => {
    const r = runCli('-b', '2', '-e', '3', '-n', '1');
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/no size of the sweep \(2 B\) can run all_reduce: it needs at least 4 B for float32; raise -e/);
  });

  it('says which sizes it skipped below the minimum, and runs the rest', () => {
    const r = runCli('all_gather', '-g', '4', '-b', '4', '-e', '32', '-n', '2', '-w', '0', '--progress', 'false');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^# skipped 4, 8 B for float32: below all_gather's minimum of 16 B \(one float32 element per device on 4 devices\)$/m);
    expect(dataRows(r.stdout).map((c) => c[0])).toEqual(['16', '32']);
  });
});
