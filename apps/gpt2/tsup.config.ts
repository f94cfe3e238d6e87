import { defineConfig } from 'tsup';
import { mainBundle } from './tsup.main.config';

export default defineConfig([
  {
    // The library (`runExample`, option parsing) for other programs; the bundle is left in place.
    entry: ['src/index.ts'],
    format: ['esm'],
    dts: true,
    sourcemap: true,
    clean: ['!main.js'],
    target: 'node20',
    platform: 'node',
  },
  mainBundle,
]);
