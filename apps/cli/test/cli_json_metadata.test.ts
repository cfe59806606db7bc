import { mkdtempSync, readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { runCli } from './helpers/run_cli.js';

interface Doc {
  command: string[];
  version: string;
  node: string;
  machine: { cores: number; cpuModel: string; totalMemoryBytes: number };
  date: string;
  iterations: number | 'auto';
  warmup: number;
  algo: string;
  rows: { bytes: number; algo: string }[];
}

const benchVersion = (JSON.parse(readFileSync(new URL('../../../packages/bench/package.json', import.meta.url), 'utf8')) as { version: string }).version;

function run(...args: string[]): Doc {
  const file = join(mkdtempSync(join(tmpdir(), 'cb-json-')), 'r.json');
  const r = runCli(...args, '--json', file);
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(readFileSync(file, 'utf8')) as Doc;
}

describe('collective-bench --json', () => {
  it('records the command line, versions, machine, date, iterations and each row\'s algorithm', () => {
    const before = Date.now();
    const doc = run('-b', '8', '-e', '64', '-f', '8', '-n', '3', '-w', '1');
    expect(doc.command.slice(0, 9)).toEqual(['collective-bench', '-b', '8', '-e', '64', '-f', '8', '-n', '3']);
    expect(doc.command).toContain('--json');
    expect(doc.version).toBe(benchVersion);
    expect(doc.node).toBe(process.version);
    expect(doc.machine.cores).toBe(cpus().length);
    expect(doc.machine.cpuModel).toBe(cpus()[0]!.model.trim());
    expect(doc.machine.totalMemoryBytes).toBe(totalmem());
    const date = Date.parse(doc.date);
    expect(date).toBeGreaterThanOrEqual(before - 1000);
    expect(date).toBeLessThanOrEqual(Date.now());
    expect(doc.iterations).toBe(3);
    expect(doc.warmup).toBe(1);
    expect(doc.algo).toBe('tuned');
    expect(doc.rows.map((r) => [r.bytes, r.algo])).toEqual([[8, 'tuned'], [64, 'tuned']]);
  });

  it('records a forced --algo on every row, and "auto" iterations with -n 0', () => {
    const doc = run('-b', '64', '-e', '64', '-n', '0', '--min-time-ms', '1', '--algo', 'ring');
    expect(doc.iterations).toBe('auto');
    expect(doc.algo).toBe('ring');
    expect(doc.rows.map((r) => r.algo)).toEqual(['ring']);
  });
});
