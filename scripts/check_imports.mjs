#!/usr/bin/env node
// Fails when a package's source has an import circle, or when a file of
// the rendezvous, the transport or the runtime imports one on a higher floor
// of the house (the README's "How the code is laid out" draws it). Circles are where a newcomer cannot tell
// which file is the lower floor; ESM also evaluates a circle's modules
// half-initialised, which has bitten us as TDZ errors.
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

// usage: node scripts/check_imports.mjs [workspace root, default: this repository]
const root = process.argv[2] ? resolve(process.argv[2]) : resolve(dirname(fileURLToPath(import.meta.url)), '..');
const sources = ['packages/rendezvous/src', 'packages/transport/src', 'packages/runtime/src', 'packages/bench/src', 'apps/cli/src'];

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

// The floors, lowest first: the first pattern a file's path (inside its
// package's src/) starts with decides its floor; a file may import its own
// floor and those below, never one above.
const FLOORS = {
  'packages/rendezvous/src': [
    ['errors', 'debug_log', 'host_identity', 'tcp_store_codec', 'tcp_store_input'],
    ['store.', 'job_secret', 'slurm_nodelist', 'tcp_store_values'],
    ['hash_store', 'file_store', 'prefix_store', 'store_listen', 'tcp_store_auth', 'tcp_store_link', 'launch_env', 'job_bootstrap'],
    ['tcp_store_request', 'tcp_store_server_options'],
    ['tcp_store_server', 'tcp_store.'],
    ['launch_store'],
    ['rendezvous'],
    ['index'],
  ],
  'packages/transport/src': [
    ['constants', 'errors', 'control_layout', 'debug_subsys', 'default_wait', 'platform', 'atomics_wait', 'thread_host', 'fabric/access'],
    ['record_table', 'mr_key', 'pool_tables', 'shared_lock', 'thread_liveness', 'job_secret_slot', 'user_cookie', 'pool', 'page_allocator', 'host_memory', 'lifecycle', 'move_notifier', 'inflight_guard'],
    ['device', 'dmabuf_handle', 'dmabuf', 'attachment', 'fence', 'reusable_fence', 'sync_file', 'reservation', 'record_probe', 'mr_window', 'mr_target'],
    ['fabric/provider.', 'fabric/address_vector', 'fabric/completion_queue', 'fabric/counter', 'fabric/memory_region'],
    ['providers/'],
    ['fabric/'],
    ['index', 'runtime_interface'],
  ],
  'packages/runtime/src': [
    ['dtypes', 'ops', 'collective_kind', 'comm_errors', 'scratch_layout', 'call.', 'kernels/', 'device_array', 'tuning_table', 'tuner_default', 'algorithm_names'],
    ['comm_base/'],
    ['registration/'],
    ['connectors/'],
    ['primitives'],
    ['algorithm', 'algorithms/', 'tuner'],
    ['comm/'],
    ['collective_options', 'point_to_point', 'hierarchy', 'call_args', 'call_choice', 'comm_group', 'comm_hier', 'comm_registration', 'comm_split', 'communicator'],
    ['stream/', 'adapters/', 'device_context', 'controller_program'],
    ['world', 'device_', 'join_rendezvous', 'rendezvous_browser'],
    ['index'],
  ],
};

function floorOf(file) {
  for (const [dir, floors] of Object.entries(FLOORS)) {
    const base = join(root, dir) + '/';
    if (!file.startsWith(base)) continue;
    const rel = file.slice(base.length);
    const i = floors.findIndex((f) => f.some((p) => rel.startsWith(p)));
    if (i < 0) return { dir, floor: -1, rel };
    return { dir, floor: i, rel };
  }
  return undefined;
}

const graph = new Map();
for (const dir of sources) if (existsSync(join(root, dir))) for (const file of walk(join(root, dir))) graph.set(file, edges(file));
const found = circles(graph);
const upward = [];
const unplaced = new Set();
for (const [file, targets] of graph) {
  const a = floorOf(file);
  if (!a) continue;
  if (a.floor < 0) unplaced.add(relative(root, file));
  for (const t of targets) {
    const b = floorOf(t);
    if (!b || b.dir !== a.dir || b.floor < 0 || a.floor < 0) continue;
    if (b.floor > a.floor) upward.push(`${relative(root, file)} (floor ${a.floor}) imports ${b.rel} (floor ${b.floor})`);
  }
}
for (const f of unplaced) console.error(`no floor for ${f}: add it to FLOORS in scripts/check_imports.mjs`);
for (const u of upward) console.error(`import running up the house: ${u}`);
for (const scc of found) console.error(`import circle: ${scc.map((f) => relative(root, f)).sort().join(' ⇄ ')}`);
if (found.length > 0) console.error(`${found.length} import circle(s); move the shared piece into a lower file both can import`);
if (upward.length > 0) console.error(`${upward.length} import(s) running up; move what the lower file needs down, or pass it in`);
if (found.length > 0 || upward.length > 0 || unplaced.size > 0) process.exit(1);
console.log(`no import circles and no import running up in ${graph.size} files`);
