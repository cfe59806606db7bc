import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The built CLI entry (tests run after `pnpm build`). */
export const CLI_MAIN = fileURLToPath(new URL('../../dist/main.js', import.meta.url));

/** Runs collective-bench in a child process; bounded well under the test timeout. */
export function runCli(...args: string[]): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [CLI_MAIN, ...args], { encoding: 'utf8', timeout: 30_000 });
}

/** The data rows of an nccl-tests table, split into columns. */
export function dataRows(stdout: string): string[][] {
  return stdout
    .split('\n')
    .filter((l) => /^\s+\d/.test(l))
    .map((l) => l.trim().split(/\s+/));
}
