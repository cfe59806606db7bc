import { describe, expect, it } from 'vitest';
import { startRun, until } from './helpers/collective_run.js';

describe('collective-run on Ctrl-C', () => {
  it('says it received SIGINT and passed it on, without blaming the rank that stopped first', async () => {
    // Workers that do not handle SIGINT die of it, as most programs do: the first death is the launcher's doing.
    const run = startRun(['--standalone', '--nproc-per-node', '2', process.execPath, '-e', "console.log('ready'); setInterval(() => {}, 1000)"]);
    await until(() => (run.stdout().match(/ready/g) ?? []).length === 2, 15_000, 'both workers to be ready');
    run.child.kill('SIGINT');
    const r = await run.done;
    expect(r.code).toBe(130);
    expect(r.stderr).toMatch(/^collective-run: received SIGINT and passed it to the workers; waiting for them to stop$/m);
    expect(r.stderr).not.toMatch(/rank \d \(node \d\) collective-run received/);
  });
});
