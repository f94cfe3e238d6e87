import type { Options } from 'tsup';

/**
 * The library build every workspace package makes: `src/index.ts` to ESM in `dist/`, with type
 * declarations and source maps, for Node 20. Packages that also write a bundle to `dist/` replace
 * `clean` so one build does not delete the other's file.
 */
export const libraryBuildOptions: Options = {
  entry: ['src/index.ts'],
  format: ['esm'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
  platform: 'node',
};
