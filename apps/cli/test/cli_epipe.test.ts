import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI_MAIN } from './helpers/run_cli.js';

describe('collective-bench into a closed pipe (| head)', () => {
  it('exits quietly with status 0 at the first write, without a stack trace', async () => {
    const json = join(mkdtempSync(join(tmpdir(), 'cb-epipe-')), 'r.json');
    const child = spawn(process.execPath, [CLI_MAIN, '-e', '64', '-n', '2', '--json', json], { stdio: ['ignore', 'pipe', 'pipe'] });
    // Close the reading end before the CLI has started: its first write meets EPIPE.
    child.stdout.destroy();
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const status = await new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    expect(stderr).toBe('');
    expect(status).toBe(0);
    // It stopped there: the JSON file is written only after a completed sweep.
    expect(existsSync(json)).toBe(false);
  });
});
