#!/usr/bin/env node
// collective-bench: nccl-tests for this runtime, as a thin yargs layer.
import { hideBin } from 'yargs/helpers';
import { buildCli } from './cli.js';

const cli = buildCli(hideBin(process.argv), process.stdout);
try {
  await cli.parseAsync();
} catch (e) {
  // yargs has printed usage errors already; runtime errors are ours to print.
  const message = (e as Error).message;
  if (message) process.stderr.write(`collective-bench: ${message}\n`);
  process.exitCode = process.exitCode || 1;
}
