import { definePackageConfig } from '@ptq/vitest-config';

// The test files share no module state, so each worker process runs several of them in turn (a
// fresh process per file cost more than most files' tests). The setup file runs for every file.
export default definePackageConfig({
  test: { isolate: false, setupFiles: ['./src/__fixtures__/remove-temporary-folders.ts'] },
});
