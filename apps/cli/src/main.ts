#!/usr/bin/env node
// collective-bench: nccl-tests for this runtime, as a thin yargs layer.
import { hideBin } from 'yargs/helpers';
import { buildCli } from './cli.js';

// `collective-bench | head` closes the pipe early: that is the reader saying
// it has seen enough, not a failure, so leave quietly and successfully.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    if (stream !== process.stderr) process.stderr.write(`collective-bench: cannot write the output: ${e.message}\n`);
    process.exit(1);
  });
}

const cli = buildCli(hideBin(process.argv), process.stdout);
try {
  await cli.parseAsync();
} catch (e) {
  // yargs has printed usage errors already; runtime errors are ours to print.
  const message = (e as Error).message;
  if (message) process.stderr.write(`collective-bench: ${message}\n`);
  process.exitCode = process.exitCode || 1;
}
