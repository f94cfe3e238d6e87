import type { UserConfig } from 'vitest/config';

/** Vitest config for one workspace package: node environment, colocated `src/**\/*.test.ts`. */
export function definePackageConfig(overrides?: UserConfig): UserConfig;
