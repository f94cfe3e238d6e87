import { fileURLToPath } from 'node:url';
import { FULL_TESTS } from '@ptq/vitest-config/full-tests';
import {
  captureConsoleLog,
  itMatchesReadme,
  printedValues,
  temporaryExampleFolder,
} from '@ptq/vitest-config/readme-examples';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

const packageFolder = fileURLToPath(new URL('..', import.meta.url));

describe('README Usage examples', () => {
  itMatchesReadme(packageFolder);

  // The example calibrates on cnn_dailymail by name: offline and with an empty cache it takes the
  // bundled sample, never the network. What it prints is the README's result comments (see
  // printedValues).
  describe.runIf(FULL_TESTS)('run', () => {
    const { path: emptyCache } = temporaryExampleFolder('ptq-tripy-loader-readme-');
    beforeAll(() => {
      vi.stubEnv('HF_HUB_OFFLINE', '1');
      vi.stubEnv('HF_HUB_CACHE', emptyCache());
      vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    });
    afterAll(() => {
      vi.restoreAllMocks();
      vi.unstubAllEnvs();
    });

    // Quantizes the bundled model (int4 AWQ-lite) on the CPU.
    it('load-quantized-weights', async () => {
      const printed = await captureConsoleLog(() => import('../examples/load-quantized-weights'));
      expect(printedValues(printed)).toBe(
        printedValues('[ 768, 2 ]\n" the world,\\nand the world, and the world, and the world,"'),
      );
    }, 300_000);
  });
});
