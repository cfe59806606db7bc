import { describe, expect, it } from 'vitest';
import { runCli } from './helpers/run_cli.js';

// A size the 2 GiB device pool cannot hold is refused up front, quoting the
// text typed and the largest size that fits, never a derived byte count.
describe('collective-bench sizes too large for the device pool', () => {
  it.each([
    [['kernels', '--bytes', '64G'], /--bytes must be at most 511M with 2 source\(s\): the device pool holds at most 2G \(got '64G'\)/],
    [['kernels', '--bytes', '65536M', '--sources', '6'], /--bytes must be at most \d+M with 6 source\(s\).*\(got '65536M'\)/],
    [['-e', '64G'], /-e must be at most 501M with 2 device\(s\): the device pool holds at most 2G \(got '64G'\)/],
    [['all_gather', '-g', '8', '-e', '1G'], /-e must be at most \d+M with 8 device\(s\).*\(got '1G'\)/],
    [['rma', '-e', '2G'], /-e must be at most \d+M between two devices.*\(got '2G'\)/],
    [['-e', '99999999999999999999'], /-e is too large \(got '99999999999999999999'\)/],
  ])('%j is refused before anything runs', (args, message) => {
    const r = runCli(...(args as string[]));
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(message as RegExp);
    // No figure the user did not type: 64G is 68719476736 bytes, its pool 274882101248.
    expect(r.stderr.replace(/\(got '[^']*'\)/, '')).not.toMatch(/\d{10,}/);
    expect(r.stdout).toBe('');
  });
});
