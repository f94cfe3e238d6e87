import { definePackageConfig } from '@ptq/vitest-config';

// quantize keeps the unquantized check perplexity in a cache folder; tests measure it each time,
// unless a test gives its own folder.
export default definePackageConfig({ test: { env: { PTQ_CACHE_DIR: 'off' } } });
