#!/usr/bin/env node
import { runCli } from './run-cli';
import { exitOnSignals } from './signals/exit-on-signal';

exitOnSignals();
// A reader that stops early (`ptq --help | head`) closes the pipe: what is left to print has no
// reader, so stop quietly instead of crashing on an unhandled EPIPE.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});
// process.exitCode rather than process.exit(): pending writes to a piped stdout are not cut off.
process.exitCode = await runCli(process.argv.slice(2));
