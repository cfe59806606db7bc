import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const version = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

describe('collective-bench by name inside the repository', () => {
  it('`pnpm exec collective-bench` runs the workspace CLI (the root depends on @collective/cli)', () => {
    const r = spawnSync('pnpm', ['exec', 'collective-bench', '--version'], { cwd: repo, encoding: 'utf8', timeout: 30_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(version);
  });
});
