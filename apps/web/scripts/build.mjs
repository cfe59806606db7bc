// Bundles the page and its threads for the browser with esbuild (see the
// README for why esbuild). Every thread module is an entry of its own,
// all at the top of the output folder: the runtime starts them with
// new URL('./<name>.js', import.meta.url), which then resolves beside the
// chunk that asks. Shared code goes into chunks (splitting), so a worker
// loads only what it runs.
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..', '..');
const runtimeDist = join(root, 'packages', 'runtime', 'dist');

/** Entry name → source: the page, the thread modules, the SPMD modules the page launches. */
export const ENTRIES = {
  index: join(here, '..', 'src', 'page.js'),
  thread_host: join(root, 'packages', 'transport', 'dist', 'thread_host.js'),
  device_worker_browser: join(runtimeDist, 'device_worker_browser.js'),
  stream_worker: join(runtimeDist, 'stream', 'stream_worker.js'),
  controller_program: join(runtimeDist, 'controller_program.js'),
  collective_worker: join(root, 'packages', 'bench', 'dist', 'collective_worker.js'),
  revoked_buffer: join(root, 'packages', 'runtime', 'dist-test', 'fixtures', 'revoked_buffer.js'),
  world_size: join(here, '..', 'src', 'world_size_spmd.js'),
  tfjs_data_parallel_step: join(root, 'examples', 'dist', 'tfjs_data_parallel_step.js'),
  dying_rank: join(here, '..', 'src', 'dying_rank_spmd.js'),
};

/** Builds into `outdir`; resolves to esbuild's metafile (what went into every output). */
export async function buildWeb(outdir = join(here, '..', 'bundle'), { platform = 'browser' } = {}) {
  const result = await build({
    entryPoints: ENTRIES,
    outdir,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform,
    target: 'es2022',
    sourcemap: true,
    metafile: true,
    logLevel: 'warning',
  });
  return result.metafile;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const meta = await buildWeb(process.argv[2]);
  console.log(`built ${Object.keys(meta.outputs).filter((f) => f.endsWith('.js')).length} files`);
}
