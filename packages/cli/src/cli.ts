#!/usr/bin/env node
import { runCli } from './run-cli';
import { exitOnSignals } from './signals/exit-on-signal';

exitOnSignals();
// process.exitCode rather than process.exit(): pending writes to a piped stdout are not cut off.
process.exitCode = await runCli(process.argv.slice(2));
