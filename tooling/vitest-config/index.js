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
        // A test that hangs fails in half a minute; the few that calibrate or evaluate real models
        // give their own, longer timeout (third argument of `it`), with the reason beside it.
        testTimeout: 30_000,
        hookTimeout: 60_000,
      },
    }),
    overrides,
  );
}
