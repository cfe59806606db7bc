#!/usr/bin/env node
// A committed launcher, so that `pnpm install` can link the bin before the
// first build (pnpm skips bins whose file does not exist yet).
import { existsSync } from 'node:fs';

const main = new URL('../dist/main.js', import.meta.url);
if (!existsSync(main)) {
  process.stderr.write('collective-bench: the CLI is not built yet (dist/main.js is missing); run `pnpm build` in the repository first\n');
  process.exit(1);
}
await import(main.href);
