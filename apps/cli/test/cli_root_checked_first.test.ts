import { describe, expect, it } from 'vitest';
import { runCli } from './helpers/run_cli.js';

describe('collective-bench -r', () => {
  it.each([['all_reduce'], ['broadcast'], ['reduce']])('%s -r 99 on 2 devices fails before printing anything', (name) => {
    const r = runCli(name, '-r', '99', '-e', '64');
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/-r must be a rank of the 2 devices, 0\.\.1 \(got 99\)/);
  });
});
