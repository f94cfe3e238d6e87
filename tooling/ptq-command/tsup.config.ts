import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'tsup';
import { selfContainedOptions } from '../bundle/self-contained-bundle';

const cliRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'packages', 'cli');

/**
 * The `ptq` bin alone (`packages/cli/dist/cli.js`), as `@ptq/cli`'s own build writes it but without
 * the library build and its type declarations, which `pnpm ptq` does not need.
 */
export default defineConfig(
  selfContainedOptions({
    entry: [path.join(cliRoot, 'src', 'cli.ts')],
    outDir: path.join(cliRoot, 'dist'),
  }),
);
