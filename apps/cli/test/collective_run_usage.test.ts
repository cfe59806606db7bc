import { describe, expect, it } from 'vitest';
import { runCollective } from './helpers/collective_run.js';

describe('collective-run flags', () => {
  it.each([
    [['--nproc-per-node', '0', 'node', 'x.js'], /--nproc-per-node must be an integer from 1 to 4096 \(got 0\)/],
    [[], /give the command to run, e.g. collective-run --nproc-per-node 2 node train.js/],
    [['--standalone', '--nnodes', '2', 'node', 'x.js'], /--standalone runs a single node/],
    [['--nnodes', '2', '--master-port', '0', 'node', 'x.js'], /--master-port 0 \(any free port\) only works on a single node/],
    [['--nnodes', '2', '--node-rank', '2', 'node', 'x.js'], /--node-rank must be less than --nnodes \(got --node-rank 2 with --nnodes 2\)/],
    [['--master-port', '70000', 'node', 'x.js'], /--master-port must be an integer from 0 to 65535 \(got 70000\)/],
    [['--rdzv-timeout', 'soon', 'node', 'x.js'], /--rdzv-timeout must be a positive number of seconds \(got soon\)/],
    [['--max-restarts', '-1', 'node', 'x.js'], /--max-restarts must be an integer from 0 to 1000000 \(got -1\)/],
    [['--frobnicate', 'node', 'x.js'], /Unknown argument: frobnicate/],
  ])('refuses %j with exit code 2 and a message', async (args, message) => {
    const r = await runCollective(args as string[]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message as RegExp);
    expect(r.stderr).toMatch(/Run collective-run --help for the flags/);
  });

  it('takes torchrun\'s underscore spellings, and stops reading flags at the command', async () => {
    const r = await runCollective(['--nproc_per_node', '2', '--master_port', '0', 'node', '-e', 'console.log(process.env.RANK, process.argv.slice(1).join(" "))', '--', '--nproc-per-node', '9']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.split('\n').filter(Boolean).sort()).toEqual(['[rank 0] 0 --nproc-per-node 9', '[rank 1] 1 --nproc-per-node 9']);
  });

  it('says where the store cannot be hosted', async () => {
    const { createServer } = await import('node:net');
    const busy = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    const port = (busy.address() as { port: number }).port;
    try {
      const r = await runCollective(['--master-port', String(port), 'node', '-e', '0']);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}: EADDRINUSE.*choose another with --master-port`));
    } finally {
      busy.close();
    }
  });

  it('--help lists the flags', async () => {
    const r = await runCollective(['--help']);
    expect(r.code).toBe(0);
    for (const flag of ['--nproc-per-node', '--nnodes', '--node-rank', '--master-addr', '--master-port', '--standalone', '--max-restarts']) expect(r.stdout).toContain(flag);
  });
});
