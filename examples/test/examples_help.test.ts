import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const dist = fileURLToPath(new URL('../dist/', import.meta.url));

/** Every script a user runs: the programs named in package.json's scripts, and the README's that are not worker modules (those export a default step). */
function scripts(): string[] {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { scripts: Record<string, string> };
  const programs = Object.values(pkg.scripts).map((s) => s.replace(/^node dist\//, ''));
  const readme = readdirSync(`${dist}readme`)
    .filter((f) => f.endsWith('.js') && !/^export default /m.test(readFileSync(`${dist}readme/${f}`, 'utf8')))
    .map((f) => `readme/${f}`);
  return [...programs, ...readme];
}

describe('the example scripts', () => {
  it('are the three programs and the README worlds', () => {
    expect(scripts()).toEqual(expect.arrayContaining(['linear_regression.js', 'tfjs_data_parallel.js', 'tfjs_overlap_bench.js', 'readme/start_world.js', 'readme/join_job.js', 'readme/streams_world.js', 'readme/ddp_world.js']));
  });

  it.each(scripts())('%s answers --help and -h with a usage line and exit code 0, starting nothing', (script) => {
    for (const flag of ['--help', '-h']) {
      const r = spawnSync(process.execPath, [`${dist}${script}`, flag], { encoding: 'utf8', timeout: 20_000 });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^usage: .*${script.replace('.', '\\.')}`));
      expect(r.stderr).toBe('');
    }
  });
});
