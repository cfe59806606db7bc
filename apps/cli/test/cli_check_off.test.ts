import { describe, expect, it } from 'vitest';
import { dataRows, runCli } from './helpers/run_cli.js';

describe('collective-bench -c 0', () => {
  it('shows N/A in the #wrong columns and the footer instead of a count of 0', () => {
    const r = runCli('-c', '0', '-b', '8', '-e', '64', '-f', '8', '-n', '2');
    expect(r.status, r.stderr).toBe(0);
    const rows = dataRows(r.stdout);
    expect(rows.map((c) => Number(c[0]))).toEqual([8, 64]);
    for (const c of rows) {
      expect(c[8]).toBe('N/A');
      expect(c[12]).toBe('N/A');
    }
    expect(r.stdout).toMatch(/# Out of bounds values : N\/A \(results not checked: -c 0\)/);
    expect(r.stdout).not.toMatch(/Out of bounds values : 0 OK/);
  });

  it('still counts wrong values with -c 1', () => {
    const r = runCli('-c', '1', '-b', '8', '-e', '64', '-f', '8', '-n', '2');
    expect(r.status, r.stderr).toBe(0);
    for (const c of dataRows(r.stdout)) expect([c[8], c[12]]).toEqual(['0', '0']);
    expect(r.stdout).toMatch(/Out of bounds values : 0 OK/);
  });
});
