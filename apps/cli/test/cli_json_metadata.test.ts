import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { CLI_MAIN, runCli } from './helpers/run_cli.js';

interface Doc {
  command: string[];
  version: string;
  node: string;
  machine: { cores: number; cpuModel: string; totalMemoryBytes: number };
  date: string;
  iterations: number | 'auto';
  warmup: number;
  algo: string;
  timing: string;
  loadAverage: { start: number[]; end: number[] };
  rows: { bytes: number; algo: string; proto: string; tuned: boolean; spread: number; noisy: boolean }[];
}

const benchVersion = (JSON.parse(readFileSync(new URL('../../../packages/bench/package.json', import.meta.url), 'utf8')) as { version: string }).version;

function run(...args: string[]): Doc {
  const file = join(mkdtempSync(join(tmpdir(), 'cb-json-')), 'r.json');
  const r = runCli(...args, '--json', file);
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(readFileSync(file, 'utf8')) as Doc;
}

function runWithEnv(env: NodeJS.ProcessEnv, ...args: string[]): Doc {
  const file = join(mkdtempSync(join(tmpdir(), 'cb-json-')), 'r.json');
  const r = spawnSync(process.execPath, [CLI_MAIN, ...args, '--json', file], { encoding: 'utf8', timeout: 30_000, env: { ...process.env, ...env } });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(readFileSync(file, 'utf8')) as Doc;
}

describe('collective-bench --json', () => {
  it('records the command line, versions, machine, date, load average, iterations and each row\'s algorithm and protocol', () => {
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
    expect(doc.timing).toMatch(/1 call of warm-up \(-w\).*3 calls timed \(-n\)/);
    for (const l of [doc.loadAverage.start, doc.loadAverage.end]) expect(l).toEqual([expect.any(Number), expect.any(Number), expect.any(Number)]);
    expect(doc.rows.map((r) => r.bytes)).toEqual([8, 64]);
    for (const r of doc.rows) {
      expect(['oneshot', 'twoshot', 'ring', 'tree', 'direct']).toContain(r.algo);
      expect(['ll', 'simple']).toContain(r.proto);
      expect(r.tuned).toBe(true);
      expect(r.spread).toBeGreaterThanOrEqual(1);
      expect(typeof r.noisy).toBe('boolean');
    }
  });

  it('records what the tuner chose, not just "tuned": a tuning table that picks tree/simple shows on every row', () => {
    const table = join(mkdtempSync(join(tmpdir(), 'cb-json-')), 'table.json');
    writeFileSync(table, JSON.stringify({ format: 'collective-tuning/1', rules: [{ collective: 'allReduce', ranks: 2, maxBytes: 2 ** 31, algo: 'tree', proto: 'simple' }] }));
    const doc = runWithEnv({ COLLECTIVE_TUNER_FILE: table }, '-b', '8', '-e', '64', '-f', '8', '-n', '2', '-w', '0');
    expect(doc.rows.map((r) => [r.bytes, r.algo, r.proto, r.tuned])).toEqual([[8, 'tree', 'simple', true], [64, 'tree', 'simple', true]]);
  });

  it('records a forced --algo on every row, and "auto" iterations with -n 0', () => {
    const doc = run('-b', '64', '-e', '64', '-n', '0', '--min-time-ms', '1', '--algo', 'ring');
    expect(doc.iterations).toBe('auto');
    expect(doc.algo).toBe('ring');
    expect(doc.rows.map((r) => [r.algo, r.proto, r.tuned])).toEqual([['ring', 'simple', false]]);
  });
});
