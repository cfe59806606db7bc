#!/usr/bin/env node
// Fails when a package's source has an import circle. Circles are where a
// newcomer cannot tell which file is the lower floor; ESM also evaluates a
// circle's modules half-initialised, which has bitten us as TDZ errors.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const sources = ['packages/transport/src', 'packages/runtime/src', 'packages/bench/src', 'apps/cli/src'];

function walk(dir, out = []) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path, out);
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

// Type-only imports vanish at run time but still tie the files together for a
// reader, so they count.
const IMPORT = /(?:^|\n)\s*(?:import|export)\b[^'";]*?from\s*['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)/g;

function edges(file) {
  const text = readFileSync(file, 'utf8');
  const out = new Set();
  for (const m of text.matchAll(IMPORT)) {
    const spec = m[1] ?? m[2];
    const target = resolve(dirname(file), spec.replace(/\.js$/, '.ts'));
    out.add(target);
  }
  return [...out];
}

// Tarjan's strongly connected components: every component of more than one
// file (or a file importing itself) is a circle.
function circles(graph) {
  let index = 0;
  const idx = new Map(), low = new Map(), stack = [], on = new Set(), found = [];
  const visit = (v) => {
    idx.set(v, index); low.set(v, index); index++;
    stack.push(v); on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!idx.has(w)) { visit(w); low.set(v, Math.min(low.get(v), low.get(w))); }
      else if (on.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)));
    }
    if (low.get(v) === idx.get(v)) {
      const scc = [];
      let w;
      do { w = stack.pop(); on.delete(w); scc.push(w); } while (w !== v);
      if (scc.length > 1 || (graph.get(v) ?? []).includes(v)) found.push(scc);
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) visit(v);
  return found;
}

const graph = new Map();
for (const dir of sources) for (const file of walk(join(root, dir))) graph.set(file, edges(file));
const found = circles(graph);
for (const scc of found) console.error(`import circle: ${scc.map((f) => relative(root, f)).sort().join(' ⇄ ')}`);
if (found.length > 0) {
  console.error(`${found.length} import circle(s); move the shared piece into a lower file both can import`);
  process.exit(1);
}
console.log(`no import circles in ${graph.size} files`);
