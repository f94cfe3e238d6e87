import { defineConfig } from 'tsup';
import { libraryBuildOptions } from '../../tooling/bundle/library-build';

// Two entries: the library and `@ptq/hub/test`, the local hub server for other packages' tests.
export default defineConfig({
  ...libraryBuildOptions,
  entry: { index: 'src/index.ts', 'test/index': 'src/test/index.ts' },
});
