// Which compiled files match which sources, for the workspace's two layouts
// (src → dist, test/fixtures → dist-test/fixtures). tsc -b writes outputs but
// never removes the ones of a deleted or renamed source; these helpers find them.
import { existsSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';

export const LAYOUTS = [
  { source: 'src', output: 'dist' },
  { source: 'test/fixtures', output: 'dist-test/fixtures' },
];

const OUTPUT = /\.(js|d\.ts|js\.map|d\.ts\.map)$/;

function walk(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]));
}

const sourceStems = (dir) => new Set(walk(dir).filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts')).map((f) => relative(dir, f).slice(0, -'.ts'.length)));

/** Output files (relative to `pkg`) whose source no longer exists. */
export function leftovers(pkg, { source, output }) {
  const stems = sourceStems(join(pkg, source));
  return walk(join(pkg, output))
    .filter((f) => OUTPUT.test(f) && !stems.has(relative(join(pkg, output), f).replace(OUTPUT, '')))
    .map((f) => relative(pkg, f));
}

/** Sources (relative to `pkg`) that have no compiled .js yet. */
export function unbuilt(pkg, { source, output }) {
  return [...sourceStems(join(pkg, source))].filter((s) => !existsSync(join(pkg, output, `${s}.js`))).map((s) => join(source, `${s}.ts`));
}
