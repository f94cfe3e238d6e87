import { defineConfig } from 'tsup';
import { libraryBuildOptions } from '../../tooling/bundle/library-build';

export default defineConfig(libraryBuildOptions);
