import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const main = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const run = (...args: string[]) => spawnSync(process.execPath, [main, ...args], { encoding: 'utf8', timeout: 120_000 });

describe('collective-bench', () => {
  it('prints an nccl-tests table for all_reduce by default, with #wrong 0', () => {
    const r = run('-b', '8', '-e', '64K', '-f', '8', '-n', '5');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/#\s+size\s+count\s+type\s+redop\s+root\s+time\s+algbw\s+busbw\s+#wrong/);
    const rows = r.stdout.split('\n').filter((l) => /^\s+\d/.test(l));
    expect(rows.map((l) => Number(l.trim().split(/\s+/)[0]))).toEqual([8, 64, 512, 4096, 32768]);
    for (const l of rows) {
      const cols = l.trim().split(/\s+/);
      expect(cols[8]).toBe('0');
      expect(cols[12]).toBe('0');
    }
    expect(r.stdout).toMatch(/Out of bounds values : 0 OK/);
  });

  it.each(['all_gather', 'reduce_scatter', 'broadcast', 'reduce', 'alltoall', 'sendrecv'])('runs %s with -c 1 and reports #wrong 0', (name) => {
    const r = run(name, '-b', '1K', '-e', '64K', '-f', '64', '-n', '3', '-c', '1', '-g', '3');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Out of bounds values : 0 OK/);
  });

  it('steps sizes by -i bytes', () => {
    const r = run('-b', '1K', '-e', '4K', '-i', '1K', '-n', '3');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.split('\n').filter((l) => /^\s+\d/.test(l)).map((l) => Number(l.trim().split(/\s+/)[0]))).toEqual([1024, 2048, 3072, 4096]);
  });

  it('writes JSON and an SVG chart when asked', async () => {
    const { mkdtempSync, readFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 'cb-'));
    const r = run('-b', '1K', '-e', '16K', '-f', '4', '-n', '3', '--json', join(dir, 'r.json'), '--plot', join(dir, 'r.svg'));
    expect(r.status, r.stderr).toBe(0);
    const json = JSON.parse(readFileSync(join(dir, 'r.json'), 'utf8'));
    expect(json.rows.map((x: { bytes: number }) => x.bytes)).toEqual([1024, 4096, 16384]);
    expect(readFileSync(join(dir, 'r.svg'), 'utf8')).toMatch(/^<svg[\s\S]*<polyline/);
  });

  it.each([
    [['-g', '0'], /-g must be a positive integer \(got 0\)/],
    [['-d', 'float8'], /-d must be one of float32, .* or all \(got float8\)/],
    [['-o', 'mean'], /-o must be one of sum, prod, min, max, avg or all \(got mean\)/],
    [['-b', 'lots'], /-b must be a size such as 8, 64K, 32M or 1G/],
    [['-c', '2'], /-c must be 0 or 1/],
    [['-f', '2', '-i', '1K'], /-f and -i both set the step/],
    [['--frobnicate'], /Unknown argument: frobnicate/],
    [['all_reduse'], /Unknown argument: all_reduse|Did you mean all_reduce/],
  ])('rejects bad flags %j with a clear message and exit 1', (args, message) => {
    const r = run(...(args as string[]));
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(message as RegExp);
  });

  it('runs the kernel micro-benchmarks and the RMA benchmark', () => {
    const k = run('kernels', '--bytes', '16K', '--time-ms', '20', '-d', 'float32,int8');
    expect(k.status, k.stderr).toBe(0);
    expect(k.stdout).toMatch(/float32\s+\d+\.\d+\s+\d+\.\d+\s+\d+\.\dx/);
    const m = run('rma', '-b', '4K', '-e', '64K', '--pingpongs', '200', '--min-time-ms', '10');
    expect(m.status, m.stderr).toBe(0);
    expect(m.stdout).toMatch(/8-byte writedata latency \(one way\): \d+\.\d+ us/);
    expect(m.stdout).toMatch(/65536\s+\d+\.\d+/);
  });
});
