import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'tsup';
import { libraryBuildOptions } from '../../tooling/bundle/library-build';
import { selfContainedOptions } from '../../tooling/bundle/self-contained-bundle';

const packageRoot = path.dirname(fileURLToPath(import.meta.url));
const outDir = path.join(packageRoot, 'dist');

export default defineConfig([
  // The library: the other packages stay imports, as for every package of the workspace. It cleans
  // everything but the bin, which the other build writes at the same time.
  { ...libraryBuildOptions, clean: ['!cli.js'] },
  // The `ptq` bin: one file with the workspace packages (from source), transformers.js, commander and
  // cli-progress inside, so it runs where only onnxruntime-node is installed.
  selfContainedOptions({ entry: ['src/cli.ts'], outDir }),
]);
