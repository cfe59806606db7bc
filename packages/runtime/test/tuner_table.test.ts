import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkTable, chooseAlgorithm, tunedRules, type TuningTable } from '@collective/runtime';

const table: TuningTable = {
  format: 'collective-tuning/1',
  rules: [
    { collective: 'allReduce', ranks: 2, maxBytes: 64, algo: 'oneshot', proto: 'll' },
    { collective: 'allReduce', ranks: 2, maxBytes: 64, algo: 'tree', proto: 'simple' },
    { collective: 'allReduce', ranks: 2, maxBytes: 2 ** 31, algo: 'ring', proto: 'simple' },
    { collective: 'allReduce', ranks: 4, maxBytes: 2 ** 31, algo: 'twoshot', proto: 'simple' },
  ],
};

// Runs chooseAlgorithm in a fresh process, where COLLECTIVE_TUNER_FILE is read.
function chooseInChild(file: string, bytes: number, ranks: number): string {
  const code = `import('@collective/runtime').then((r) => { try { const a = r.chooseAlgorithm('allReduce', ${bytes}, ${ranks}, undefined, undefined, { llOk: true }); console.log(a.name + '/' + a.proto); } catch (e) { console.log('error: ' + e.message); } })`;
  return execFileSync(process.execPath, ['--input-type=module', '-e', code], { cwd: import.meta.dirname, env: { ...process.env, COLLECTIVE_TUNER_FILE: file }, encoding: 'utf8' }).trim();
}

describe('a tuning table', () => {
  it('is a decision list per world size: first rule that covers the size and can run wins', () => {
    const two = { llOk: true, rules: tunedRules(2, table) };
    expect(chooseAlgorithm('allReduce', 64, 2, undefined, undefined, two)).toMatchObject({ name: 'oneshot', proto: 'll' });
    expect(chooseAlgorithm('allReduce', 65, 2, undefined, undefined, two)).toMatchObject({ name: 'ring', proto: 'simple' });
    // Without shm peers the ll rule is skipped for the simple one behind it.
    expect(chooseAlgorithm('allReduce', 8, 2, undefined, undefined, { ...two, llOk: false })).toMatchObject({ name: 'tree', proto: 'simple' });
    // Three ranks use the rules measured with two; five, those measured with four.
    expect(chooseAlgorithm('allReduce', 1000, 3, undefined, undefined, { llOk: true, rules: tunedRules(3, table) }).name).toBe('ring');
    expect(chooseAlgorithm('allReduce', 1000, 5, undefined, undefined, { llOk: true, rules: tunedRules(5, table) }).name).toBe('twoshot');
  });

  it('names the bad row', () => {
    expect(() => checkTable({ format: 'nope' }, 'x.json')).toThrow(/x.json is not a tuning table \(expected format 'collective-tuning\/1'/);
    const bad = { format: 'collective-tuning/1', rules: [table.rules[0], { ...table.rules[1], algo: 'fastest' }] };
    expect(() => checkTable(bad, 'x.json')).toThrow(/x.json: rule 1 must have .* algo in .*\(got .*fastest/);
  });

  it('is read from COLLECTIVE_TUNER_FILE, and a missing or broken file is an error that says how to make one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tuner-'));
    const good = join(dir, 'good.json');
    writeFileSync(good, JSON.stringify(table));
    expect(chooseInChild(good, 100, 2)).toBe('ring/simple');
    expect(chooseInChild(join(dir, 'missing.json'), 100, 2)).toMatch(/COLLECTIVE_TUNER_FILE=.*missing.json cannot be read .*collective-bench tune --out/);
    const broken = join(dir, 'broken.json');
    writeFileSync(broken, '{"format": "collective-tuning/1", "rules": [{"collective": "allReduce"}]}');
    const notJson = join(dir, 'not.json');
    writeFileSync(notJson, '{ rules');
    expect(chooseInChild(notJson, 100, 2)).toMatch(/not.json is not JSON/);
    expect(chooseInChild(broken, 100, 2)).toMatch(/broken.json: rule 0 must have collective, ranks/);
  });
});
