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

  describe.runIf(FULL_TESTS)('run', () => {
    // The examples calibrate on cnn_dailymail by name: offline and with an empty cache they take the
    // bundled sample, the source the README's figures come from, and never the network.
    const { path: emptyCache } = temporaryExampleFolder('ptq-readme-examples-');
    const stderr: string[] = [];
    beforeAll(() => {
      vi.stubEnv('HF_HUB_OFFLINE', '1');
      vi.stubEnv('HF_HUB_CACHE', emptyCache());
      vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
        stderr.push(String(chunk));
        return true;
      });
    });
    afterAll(() => {
      vi.restoreAllMocks();
      vi.unstubAllEnvs();
    });

    // Each quantizes the bundled model on the CPU. Printed amax values are compared to 6 significant
    // digits (see printedValues).
    it('quantize-int4 prints the state dict shapes, and logs the AWQ-lite alphas', async () => {
      stderr.length = 0;
      expect(await captureConsoleLog(() => import('../examples/quantize-int4'))).toBe(
        '[ 768, 256 ]\n[ 1536, 1 ]\n[ 256 ]\n',
      );
      expect(stderr.join('').replace(/took \d+\.\d+ s/, 'took … s')).toBe(
        [
          // The README shows the notice of a machine where the hub is unreachable.
          'ptq: cnn_dailymail not in the Hugging Face cache and offline mode is on (HF_HUB_OFFLINE); using the bundled sample of 250 real test-split articles',
          'ptq: calibrating int4-weight-only on 16 samples of cnn_dailymail in batches of 16',
          'ptq: AWQ-lite alphas per linear: 0.1 0.2 0.2 0.3 0.2 0.2 0.2 0.2 0.1 0.2 0.1 0.3 0.1 0.3 0.1 0.4',
          'ptq: quantization took … s',
          '',
        ].join('\n'),
      );
    }, 300_000);

    it('your-own-config quantizes without AWQ', async () => {
      expect(await captureConsoleLog(() => import('../examples/your-own-config'))).toBe(
        'undefined\n[ 1536, 1 ]\n',
      );
    }, 300_000);

    it('your-own-calibrator prints the percentile input amax and the clipped weight amax', async () => {
      expect(printedValues(await captureConsoleLog(() => import('../examples/your-own-calibrator')))).toBe(
        printedValues('Float32Array(1) [ 3.2326505184173584 ]\nFloat32Array(1) [ 0.12810058891773224 ]\n'),
      );
    }, 300_000);

    it('your-own-forward-loop calibrates on its two texts', async () => {
      expect(printedValues(await captureConsoleLog(() => import('../examples/your-own-forward-loop')))).toBe(
        printedValues('2\nFloat32Array(1) [ 3.081138849258423 ]\n'),
      );
    }, 300_000);
  });
});
