import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkTable, chooseAlgorithm, tunedRules } from '@collective/runtime';
import { describe, expect, it } from 'vitest';
import { runCli } from './helpers/run_cli.js';

describe('collective-bench tune', () => {
  it('measures every algorithm and protocol per size and writes a table the runtime accepts', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'tune-')), 'table.json');
    const r = runCli('tune', '--collectives', 'broadcast', '-b', '64', '-e', '16K', '-f', '16', '--min-time-ms', '2', '--out', out);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/# broadcast on 2 devices/);
    // ll only where one slot holds the input: 16 KiB shows only simple.
    expect(r.stdout).toMatch(/^ +64 +[\d.]+~?\*? +[\d.]+~?\*? *$/m);
    expect(r.stdout).toMatch(/^ +16K +- +[\d.]+~?\* *$/m);
    // The last rule covers every larger call, unmeasured: the output says so.
    expect(r.stdout).toMatch(/^# note: the rule for 16K \(direct\/(ll|simple)\) also covers broadcast calls above -e \(16K\), which were not measured; tune with a larger -e/m);
    expect(r.stdout).toMatch(new RegExp(`wrote \\d+ rules to ${out}`));
    const table = checkTable(JSON.parse(readFileSync(out, 'utf8')), out);
    const rules = table.rules.filter((x) => x.collective === 'broadcast');
    expect(rules.at(-1)!.maxBytes).toBe(2 ** 31);
    // Every ll rule has a simple one behind it for worlds that cannot use ll.
    for (const [i, rule] of rules.entries()) if (rule.proto === 'll') expect(rules[i + 1]!.proto).toBe('simple');
    const net = chooseAlgorithm('broadcast', 64, 2, undefined, undefined, { llOk: false, rules: tunedRules(2, table) });
    expect(net.proto).toBe('simple');
  }, 60_000);

  it('refuses what it cannot tune before measuring anything', () => {
    let r = runCli('tune', '--collectives', 'alltoall');
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/--collectives must be one of all_reduce, all_gather, reduce_scatter, broadcast or all \(got alltoall\)/);
    r = runCli('tune', '-g', '1');
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/-g must be an integer of at least 2 \(got 1\)/);
    r = runCli('tune', '--out', '/nonexistent-dir/t.json');
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/--out/);
  });
});
