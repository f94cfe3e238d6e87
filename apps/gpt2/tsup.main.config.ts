import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'tsup';
import { selfContainedOptions } from '../../tooling/bundle/self-contained-bundle';

const appRoot = path.dirname(fileURLToPath(import.meta.url));

/**
 * `dist/main.js`: one file with the workspace packages (from source) and transformers.js inside, so
 * it runs where only onnxruntime-node is installed (a GPU machine with the packed runtime).
 */
export const mainBundle = selfContainedOptions({
  entry: ['src/main.ts'],
  outDir: path.join(appRoot, 'dist'),
});

export default defineConfig(mainBundle);
