#!/usr/bin/env node
import { runCli } from './run-cli';

// process.exitCode rather than process.exit(): pending writes to a piped stdout are not cut off.
process.exitCode = await runCli(process.argv.slice(2));
