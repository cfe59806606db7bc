import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const guard = fileURLToPath(new URL('../../../scripts/check_build_output.mjs', import.meta.url));
const run = (cwd: string) => spawnSync(process.execPath, [guard], { cwd, encoding: 'utf8', timeout: 30_000 });

describe('the prepack guard of the published packages', () => {
  it('refuses dist/ files without a source and sources without output, and passes a clean build', () => {
    const pkg = mkdtempSync(join(tmpdir(), 'prepack-'));
    mkdirSync(join(pkg, 'src/sub'), { recursive: true });
    mkdirSync(join(pkg, 'dist/sub'), { recursive: true });
    for (const f of ['src/index.ts', 'src/sub/a.ts']) writeFileSync(join(pkg, f), 'export {};\n');
    for (const f of ['dist/index.js', 'dist/index.d.ts', 'dist/sub/a.js', 'dist/sub/a.d.ts']) writeFileSync(join(pkg, f), '');
    expect(run(pkg).status).toBe(0);

    writeFileSync(join(pkg, 'dist/sub/renamed.js'), '');
    let r = run(pkg);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/left over from an earlier build\): dist\/sub\/renamed\.js/);
    rmSync(join(pkg, 'dist/sub/renamed.js'));

    writeFileSync(join(pkg, 'src/new.ts'), 'export {};\n');
    r = run(pkg);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/sources not built yet: src\/new\.ts/);
  });
});
