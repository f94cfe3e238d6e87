import { fileURLToPath } from 'node:url';

/**
 * Absolute path of a file in the package's `data/` folder. `../data/` is right from both `src/` (tests,
 * the `@ptq/source` condition) and `dist/` (the published build), which sit at the same depth.
 */
export function bundledDataPath(file: string): string {
  return fileURLToPath(new URL(`../data/${file}`, import.meta.url));
}
