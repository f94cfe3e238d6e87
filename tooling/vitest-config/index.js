import { defaultServerConditions } from 'vite';
import { defineConfig, mergeConfig } from 'vitest/config';

// Workspace packages export `@ptq/source` → `src/index.ts`, so tests run against sources without a build.
const conditions = ['@ptq/source', ...defaultServerConditions];

/** @param {import('vitest/config').UserConfig} [overrides] */
export function definePackageConfig(overrides = {}) {
  return mergeConfig(
    defineConfig({
      resolve: { conditions },
      ssr: { resolve: { conditions, externalConditions: ['@ptq/source'] } },
      test: {
        environment: 'node',
        include: ['src/**/*.test.ts'],
        // Generous: the heaviest tests calibrate and evaluate real models on a shared 2-core machine.
        testTimeout: 600_000,
        hookTimeout: 60_000,
      },
    }),
    overrides,
  );
}
