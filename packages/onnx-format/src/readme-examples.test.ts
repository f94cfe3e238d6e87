import { fileURLToPath } from 'node:url';
import { FULL_TESTS } from '@ptq/vitest-config/full-tests';
import { itMatchesReadme, printedBy, printedValues } from '@ptq/vitest-config/readme-examples';
import { describe, expect, it } from 'vitest';

const packageFolder = fileURLToPath(new URL('..', import.meta.url));

describe('README Usage examples', () => {
  itMatchesReadme(packageFolder);

  // What they print is the README's result comments (see printedValues).
  describe.runIf(FULL_TESTS)('run', () => {
    it('build-and-serialize', async () => {
      expect(await printedBy(() => import('../examples/build-and-serialize'))).toBe('321');
    });

    it('attributes', async () => {
      expect(await printedBy(() => import('../examples/attributes'))).toBe(
        printedValues(
          [
            'Softmax axis int -1n',
            'LeakyRelu alpha float 0.1',
            'LeakyRelu alpha float 1',
            'Transpose perm ints [ 1n, 0n ]',
            "Constant value tensor { dtype: 'int64', shape: [ 1 ], data: BigInt64Array(1) [ 4n ] }",
          ].join('\n'),
        ),
      );
    });

    it('outputs', async () => {
      expect(await printedBy(() => import('../examples/outputs'))).toBe(
        printedValues(
          [
            "SkipLayerNormalization [ 'SkipLayerNormalization_0_output_0', '', '', 'SkipLayerNormalization_0_output_3' ]",
            "Concat [ 'present.0.key' ]",
            "Identity [ 'normalized' ]",
            "Identity [ 'sum' ]",
          ].join('\n'),
        ),
      );
    });

    it('matmul-nbits', async () => {
      expect(await printedBy(() => import('../examples/matmul-nbits'))).toBe('393');
    });
  });
});
