#!/usr/bin/env node
// prepack guard of every published package: run in the package's folder, it
// refuses to pack a dist/ that does not match src/ (outputs of deleted or
// renamed sources, or sources never built), since the tarball ships dist/ as it is.
import { existsSync } from 'node:fs';
import { LAYOUTS, leftovers, unbuilt } from './build_outputs.mjs';

const name = process.env.npm_package_name ?? process.cwd();
const [layout] = LAYOUTS;
if (!existsSync('dist') || !existsSync('src')) {
  process.stderr.write(`${name}: dist/ or src/ is missing; run \`pnpm build\` at the repository root before packing\n`);
  process.exit(1);
}
const extra = leftovers('.', layout);
const missing = unbuilt('.', layout);
if (extra.length || missing.length) {
  const lines = [
    ...(extra.length ? [`dist/ holds files with no source in src/ (left over from an earlier build): ${extra.join(', ')}`] : []),
    ...(missing.length ? [`sources not built yet: ${missing.join(', ')}`] : []),
    'run `pnpm build` at the repository root (it removes leftovers first), then pack again',
  ];
  process.stderr.write(`${name}: ${lines.join('\n  ')}\n`);
  process.exit(1);
}
