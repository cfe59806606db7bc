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
  --store-listen ADDR  where node 0's store listens: any (every interface) or an
                       address of node 0 (default: the --master-addr address)
  --store-auth MODE    required: node 0's store admits only clients that prove the
                       job secret; optional: plain clients (torch's) too
                       (default: required when a job secret is given)
  --standalone         one node, 127.0.0.1, a free port
  --run-id ID          job id, the same on every node (default none)
  --rdzv-timeout S     seconds the nodes wait for each other (default 300)
  --term-timeout S     seconds between SIGTERM and SIGKILL when stopping workers (default 10)
  --no-prefix          do not prefix output lines with [rank N]

Environment:
  COLLECTIVE_JOB_SECRET, COLLECTIVE_JOB_SECRET_FILE  the job's store secret (at
      least 16 characters; the file readable by its owner only); give the same
      on every node to lock the store. Without one, collective-run makes one and
      gives it to its workers, which then check the store is their agent's; the
      store admits plain clients unless --store-auth required (one node only).
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
