import { definePackageConfig } from '@ptq/vitest-config';

// The kernels engine's llvmpipe files are most of this suite's time and are split so that two of them
// run at once (vitest's default on a 2-core machine is one worker).
export default definePackageConfig({ test: { maxWorkers: 2 } });
