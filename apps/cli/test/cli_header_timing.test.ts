import { describe, expect, it } from 'vitest';
import { runCli } from './helpers/run_cli.js';

describe('collective-bench header', () => {
  it('says what -n and -w ran and the load average at the start', () => {
    const r = runCli('-b', '8', '-e', '8', '-n', '7', '-w', '2', '--progress', 'false');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^# per size and placement: 2 calls of warm-up \(-w\), ~30 ms more untimed, then 7 calls timed \(-n\) in 5 batches; time is the median batch per call/m);
    expect(r.stdout).toMatch(/^# load average \d+\.\d\d \d+\.\d\d \d+\.\d\d \(1, 5, 15 min\) at the start, on \d+ core\(s\)$/m);
  });
});
