import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'tsup';
import { selfContainedOptions } from '../bundle/self-contained-bundle';

// Benchmarks bundle like the `ptq` bin, into `.bench/` at the repository root, so they run on a
// machine where only onnxruntime-node is installed. The entry comes from the command line:
//   tsup --config ../../tooling/bench/tsup.config.ts bench/decode-throughput.ts
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export default defineConfig(selfContainedOptions({ entry: [], outDir: path.join(root, '.bench') }));
