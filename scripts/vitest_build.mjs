// vitest's globalSetup: compiles the workspace (tsc -b, incremental) before
// any test runs. Tests import the packages' entries and start worker
// threads from their compiled files; a run after editing src/ without
// `pnpm build` would otherwise mix the new source (what vite transforms
// for the test file) with old dist/ (what the workers load) on the same
// shared memory.
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

export default function setup() {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  try {
    execFileSync(process.execPath, [fileURLToPath(new URL('./prune_build_output.mjs', import.meta.url))], { cwd: root, stdio: 'pipe' });
    execFileSync(process.execPath, [tsc, '-b', 'tsconfig.json'], { cwd: root, stdio: 'pipe' });
  } catch (e) {
    const out = `${e.stdout ?? ''}${e.stderr ?? ''}`;
    throw new Error(`the build failed, so no test ran (tests run the compiled packages):\n${out}`);
  }
}
