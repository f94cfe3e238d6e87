import { defineConfig } from 'tsup';
import { libraryBuildOptions } from '../../tooling/bundle/library-build';
import { mainBundle } from './tsup.main.config';

export default defineConfig([
  // The library (`runExample`, option parsing) for other programs; the bundle is left in place.
  { ...libraryBuildOptions, clean: ['!main.js'] },
  mainBundle,
]);
