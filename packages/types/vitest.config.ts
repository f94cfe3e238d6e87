import { definePackageConfig } from '@ptq/vitest-config';

export default definePackageConfig();
