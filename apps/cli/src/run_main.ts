#!/usr/bin/env node
// collective-run: a torchrun-like launcher; see launcher/options.ts for the flags.
import { hideBin } from 'yargs/helpers';
import { RUN_USAGE, UsageError, parseRunArgs } from './launcher/options.js';
import { runLauncher } from './launcher/run.js';

const argv = hideBin(process.argv);
if (argv[0] === '--help' || argv[0] === '-h') {
  process.stdout.write(`${RUN_USAGE.replaceAll('$0', 'collective-run')}\n\nFlags:
  --nproc-per-node N   workers on this node (default 1)
  --nnodes N           nodes in the job, one collective-run each (default 1)
  --node-rank I        this node's index; node 0 hosts the store (default 0)
  --master-addr HOST   address of node 0 (default 127.0.0.1)
  --master-port PORT   port of the store on node 0 (default 29500; 0: any free port, one node only)
  --standalone         one node, 127.0.0.1, a free port
  --run-id ID          job id, the same on every node (default none)
  --rdzv-timeout S     seconds the nodes wait for each other (default 300)
  --term-timeout S     seconds between SIGTERM and SIGKILL when stopping workers (default 10)
  --no-prefix          do not prefix output lines with [rank N]
`);
  process.exit(0);
}

try {
  process.exitCode = await runLauncher(parseRunArgs(argv));
} catch (e) {
  const message = (e as Error).message;
  process.stderr.write(`collective-run: ${message}\n`);
  if (e instanceof UsageError) process.stderr.write('Run collective-run --help for the flags.\n');
  process.exitCode = e instanceof UsageError ? 2 : 1;
}
