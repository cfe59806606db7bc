import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const haveMpi = spawnSync('mpirun', ['--version'], { stdio: 'ignore' }).status === 0;

/** Every mpirun command line of the README that starts collective-bench: in sh blocks and in inline code (which may wrap). */
function mpirunBenchLines(): string[] {
  const text = readFileSync(`${root}README.md`, 'utf8');
  const blocks = [...text.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].flatMap((m) => m[1]!.split('\n'));
  const outside = text.replace(/^```[\s\S]*?^```$/gm, '');
  const inline = [...outside.matchAll(/`([^`]+)`/g)].map((m) => m[1]!.replace(/\s*\n\s*/g, ' '));
  return [...blocks, ...inline].map((l) => l.replace(/\s+#.*$/, '').trim()).filter((l) => /\bmpirun\b/.test(l) && /collective-bench|apps\/cli\/dist\/main\.js/.test(l));
}

describe("the README's mpirun lines for collective-bench", () => {
  it('exist', () => {
    expect(mpirunBenchLines().length).toBeGreaterThan(0);
  });

  it.skipIf(!haveMpi).each(mpirunBenchLines())('%s runs as written from the repository root', (line) => {
    const words = line.split(/\s+/);
    const at = words.indexOf('mpirun');
    // What the README says to add as root, and room for 2 ranks on a small machine; then a tiny sweep.
    const extra = [...(process.getuid?.() === 0 ? ['--allow-run-as-root'] : []), '--oversubscribe'];
    const argv = [...words.slice(0, at + 1), ...extra, ...words.slice(at + 1), '-b', '8', '-e', '8', '-n', '1', '-w', '0', '--progress', 'false'];
    const env = { ...process.env };
    for (const k of Object.keys(env)) if (/^(RANK|WORLD_SIZE|LOCAL_RANK|LOCAL_WORLD_SIZE|MASTER_|OMPI_|PMI_|PMIX_|SLURM_|TORCHELASTIC_|COLLECTIVE_)/.test(k)) delete env[k];
    // A reader's shell has no node_modules/.bin on its PATH; the test runner's has (npx, pnpm run add it).
    env.PATH = (env.PATH ?? '').split(':').filter((d) => !d.includes('node_modules')).join(':');
    const r = spawnSync(argv[0]!, argv.slice(1), { cwd: root, env, encoding: 'utf8', timeout: 40_000 });
    expect(r.status, `${argv.join(' ')}\n${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toMatch(/# collective-bench all_reduce: 2 processes × 1 device per process = 2 devices \(openmpi, 1 host\)/);
    expect(r.stdout).toMatch(/# Out of bounds values : 0 OK/);
  }, 60_000);
});
