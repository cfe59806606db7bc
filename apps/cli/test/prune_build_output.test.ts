import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const prune = fileURLToPath(new URL('../../../scripts/prune_build_output.mjs', import.meta.url));

describe('pnpm build first prunes compiled files whose source is gone', () => {
  it('removes outputs of deleted sources in dist/ and dist-test/fixtures/, and keeps everything else', () => {
    const root = mkdtempSync(join(tmpdir(), 'prune-'));
    const pkg = join(root, 'packages', 'p');
    for (const d of ['src/sub', 'dist/sub', 'test/fixtures', 'dist-test/fixtures']) mkdirSync(join(pkg, d), { recursive: true });
    const files = {
      kept: ['src/a.ts', 'src/sub/b.ts', 'dist/a.js', 'dist/a.d.ts', 'dist/a.js.map', 'dist/sub/b.js', 'dist/.tsbuildinfo', 'test/fixtures/w.ts', 'dist-test/fixtures/w.js'],
      gone: ['dist/old.js', 'dist/old.d.ts', 'dist/old.js.map', 'dist/old.d.ts.map', 'dist/sub/renamed.js', 'dist-test/fixtures/stale.js'],
    };
    for (const f of [...files.kept, ...files.gone]) writeFileSync(join(pkg, f), '');
    const r = spawnSync(process.execPath, [prune, root], { encoding: 'utf8', timeout: 30_000 });
    expect(r.status, r.stderr).toBe(0);
    for (const f of files.kept) expect(existsSync(join(pkg, f)), f).toBe(true);
    for (const f of files.gone) expect(existsSync(join(pkg, f)), f).toBe(false);
    expect(r.stdout).toContain('removed packages/p/dist/sub/renamed.js (its source is gone)');
  });
});
