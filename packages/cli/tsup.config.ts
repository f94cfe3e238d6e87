import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'tsup';
import { selfContainedOptions } from '../../tooling/bundle/self-contained-bundle';

const packageRoot = path.dirname(fileURLToPath(import.meta.url));
const outDir = path.join(packageRoot, 'dist');

export default defineConfig([
  {
    // The library: the other packages stay imports, as for every package of the workspace.
    entry: ['src/index.ts'],
    format: ['esm'],
    dts: true,
    sourcemap: true,
    // Everything but the bin, which the other build writes at the same time.
    clean: ['!cli.js'],
    target: 'node20',
    platform: 'node',
  },
  // The `ptq` bin: one file with the workspace packages (from source), transformers.js, commander and
  // cli-progress inside, so it runs where only onnxruntime-node is installed.
  selfContainedOptions({ entry: ['src/cli.ts'], outDir }),
]);
