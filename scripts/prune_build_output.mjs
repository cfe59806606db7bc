#!/usr/bin/env node
// Runs before `tsc -b` in `pnpm build`: removes compiled files whose source
// was deleted or renamed, which tsc leaves behind and `pnpm pack` would ship.
// usage: node scripts/prune_build_output.mjs [workspace root, default: this repository]
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LAYOUTS, leftovers } from './build_outputs.mjs';

const root = process.argv[2] ? resolve(process.argv[2]) : fileURLToPath(new URL('..', import.meta.url));
// Workspace packages: every folder under packages/ and apps/, and examples/ itself.
const packages = [];
for (const group of ['packages', 'apps']) {
  if (!existsSync(join(root, group))) continue;
  for (const entry of readdirSync(join(root, group), { withFileTypes: true })) if (entry.isDirectory()) packages.push(join(group, entry.name));
}
if (existsSync(join(root, 'examples', 'package.json'))) packages.push('examples');
for (const rel of packages) {
  const pkg = join(root, rel);
  for (const layout of LAYOUTS) {
    for (const file of leftovers(pkg, layout)) {
      rmSync(join(pkg, file), { force: true });
      process.stdout.write(`removed ${join(rel, file)} (its source is gone)\n`);
    }
  }
}
