#!/usr/bin/env node
import { runExample } from './run-example';

// process.exitCode rather than process.exit(): pending writes to a piped stdout are not cut off.
process.exitCode = await runExample(process.argv.slice(2));
