import { mkdtempSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from './helpers/run_cli.js';

describe('collective-bench output files', () => {
  it.each([['--json', 'r.json'], ['--plot', 'r.svg']])('%s into a missing folder fails before the sweep', (flag, file) => {
    const missing = join(mkdtempSync(join(tmpdir(), 'cb-out-')), 'no-such-folder');
    const r = runCli('-e', '64', '-n', '2', flag, join(missing, file));
    expect(r.status).toBe(1);
    // Nothing measured: not even the header of the table.
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`${flag} ${join(missing, file)}: the folder ${missing} does not exist`);
    expect(existsSync(missing)).toBe(false);
  });

  it('--json naming a folder fails before the sweep', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cb-out-'));
    const r = runCli('-e', '64', '-n', '2', '--json', dir);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`--json ${dir} is a folder; give a file name`);
  });
});
