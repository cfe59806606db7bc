import { describe, expect, it } from 'vitest';
import { runCli } from './helpers/run_cli.js';

// Numeric flags quote what was typed; yargs' own number parsing would say NaN.
describe('collective-bench numeric flags', () => {
  it.each([
    [['-g', 'abc'], /-g must be a positive integer \(got abc\)/],
    [['-g', '2.5'], /-g must be a positive integer \(got 2\.5\)/],
    [['-n', 'many'], /-n must be a non-negative integer \(got many\)/],
    [['-w', '-'], /-w must be a non-negative integer \(got -\)/],
    [['-r', 'x'], /-r must be a non-negative integer \(got x\)/],
    [['-c', 'yes'], /-c must be 0 or 1 \(got yes\)/],
    [['-f', 'fast'], /-f must be a number greater than 1 \(got fast\)/],
    [['--min-time-ms', '1e3'], /--min-time-ms must be a positive integer \(got 1e3\)/],
    [['-g', ''], /-g must be a positive integer \(got nothing\)/],
    [['kernels', '--sources', 'two'], /--sources must be a positive integer \(got two\)/],
    [['rma', '--pingpongs', 'lots'], /--pingpongs must be a positive integer \(got lots\)/],
  ])('%j fails with a message naming the flag and the value typed', (args, message) => {
    const r = runCli(...(args as string[]));
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(message as RegExp);
    expect(r.stderr).not.toMatch(/NaN/);
    expect(r.stdout).toBe('');
  });
});
