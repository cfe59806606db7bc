import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const script = fileURLToPath(new URL('../../../scripts/check_imports.mjs', import.meta.url));

function check(root?: string): { code: number; out: string } {
  try {
    const out = execFileSync(process.execPath, root ? [script, root] : [script], { encoding: 'utf8', stdio: 'pipe' });
    return { code: 0, out };
  } catch (e) {
    const err = e as { status: number; stdout: string; stderr: string };
    return { code: err.status, out: `${err.stdout}${err.stderr}` };
  }
}

function workspace(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'house-'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

describe("the house's import rules (scripts/check_imports.mjs)", () => {
  it('hold in this repository: no import circle, no import running up a floor', () => {
    const r = check();
    expect(r.out).toMatch(/no import circles and no import running up/);
    expect(r.code).toBe(0);
  });

  it('catch a circle', () => {
    const root = workspace({
      'packages/runtime/src/dtypes.ts': "import { b } from './ops.js';\nexport const a = 1;\n",
      'packages/runtime/src/ops.ts': "import type { a } from './dtypes.js';\nexport const b = 2;\n",
    });
    try {
      const r = check(root);
      expect(r.code).toBe(1);
      expect(r.out).toMatch(/import circle: packages\/runtime\/src\/dtypes.ts ⇄ packages\/runtime\/src\/ops.ts/);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('catch a lower floor importing a higher one, and a file with no floor', () => {
    const root = workspace({
      'packages/runtime/src/dtypes.ts': "import { World } from './world.js';\nexport const a = World;\n",
      'packages/runtime/src/world.ts': 'export const World = 1;\n',
      'packages/runtime/src/somewhere_new.ts': 'export const x = 1;\n',
    });
    try {
      const r = check(root);
      expect(r.code).toBe(1);
      expect(r.out).toMatch(/import running up the house: packages\/runtime\/src\/dtypes.ts \(floor 0\) imports world.ts/);
      expect(r.out).toMatch(/no floor for packages\/runtime\/src\/somewhere_new.ts/);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
