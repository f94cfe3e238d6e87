import { fileURLToPath } from 'node:url';
import { FULL_TESTS } from '@ptq/vitest-config/full-tests';
import { itMatchesReadme, printedBy, printedValues } from '@ptq/vitest-config/readme-examples';
import { describe, expect, it } from 'vitest';

const packageFolder = fileURLToPath(new URL('..', import.meta.url));

describe('README Usage examples', () => {
  itMatchesReadme(packageFolder);

  // What they print is the README's result comments (see printedValues).
  describe.runIf(FULL_TESTS)('run on onnxruntime (CPU)', () => {
    it('build-and-run', async () => {
      expect(await printedBy(() => import('../examples/build-and-run'))).toBe(
        printedValues("cpu { dtype: 'float32', shape: [ 2, 2 ], data: Float32Array(4) [ 1.5, 1, 8.5, 9 ] }"),
      );
    });

    it('run-matmul-nbits', async () => {
      expect(await printedBy(() => import('../examples/run-matmul-nbits'))).toBe(
        printedValues("{ dtype: 'float32', shape: [ 1, 2 ], data: Float32Array(2) [ 32, 128 ] }"),
      );
    });
  });
});
