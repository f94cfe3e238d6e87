import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { FULL_TESTS } from '@ptq/vitest-config/full-tests';
import { captureConsoleLog, itMatchesReadme, printedValues } from '@ptq/vitest-config/readme-examples';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

const packageFolder = fileURLToPath(new URL('..', import.meta.url));

describe('README Usage examples', () => {
  itMatchesReadme(packageFolder);

  // The example calibrates on cnn_dailymail by name: offline and with an empty cache it takes the
  // bundled sample, never the network. What it prints is the README's result comments (see
  // printedValues).
  describe.runIf(FULL_TESTS)('run', () => {
    let emptyCache: string;
    beforeAll(() => {
      emptyCache = mkdtempSync(path.join(tmpdir(), 'ptq-tripy-loader-readme-'));
      vi.stubEnv('HF_HUB_OFFLINE', '1');
      vi.stubEnv('HF_HUB_CACHE', emptyCache);
      vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    });
    afterAll(() => {
      vi.restoreAllMocks();
      vi.unstubAllEnvs();
      rmSync(emptyCache, { recursive: true, force: true });
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
