import { fileURLToPath } from 'node:url';
import { FULL_TESTS } from '@ptq/vitest-config/full-tests';
import { itMatchesReadme, printedBy, printedValues } from '@ptq/vitest-config/readme-examples';
import { describe, expect, it } from 'vitest';

const packageFolder = fileURLToPath(new URL('..', import.meta.url));

describe('README Usage examples', () => {
  itMatchesReadme(packageFolder);

  // What they print is the README's result comments, exactly (no rounding: the codecs are exact).
  describe.runIf(FULL_TESTS)('run', () => {
    const exactly = (text: string) => printedValues(text, 17);
    const run = (example: () => Promise<unknown>) => printedBy(example, { significantDigits: 17 });

    it('scalar-codecs', async () => {
      expect(await run(() => import('../examples/scalar-codecs'))).toBe(
        exactly(
          ['3555', '0.333251953125', '7bff', '7c00', '4049', '3.140625', '2a', '0.3125', '7e', '7f'].join(
            '\n',
          ),
        ),
      );
    });

    it('whole-arrays', async () => {
      expect(await run(() => import('../examples/whole-arrays'))).toBe(
        exactly(
          [
            'Uint16Array(4) [ 11878, 48640, 23728, 17 ]',
            'Float32Array(4) [ 0.0999755859375, -1.5, 300, 0.0000010132789611816406 ]',
          ].join('\n'),
        ),
      );
    });

    it('tensors-and-casts', async () => {
      expect(await run(() => import('../examples/tensors-and-casts'))).toBe(
        exactly(
          [
            "{ dtype: 'float8e4m3fn', shape: [ 2, 2 ], data: Uint8Array(4) [ 29, 188, 121, 0 ] }",
            'Float32Array(4) [ 0.1015625, -1.5, 288, 0 ]',
          ].join('\n'),
        ),
      );
    });

    it('cast-once', async () => {
      expect(await run(() => import('../examples/cast-once'))).toBe(
        exactly(
          ["{ dtype: 'float16', shape: [ 2 ], data: Uint16Array(2) [ 11878, 49152 ] }", 'true'].join('\n'),
        ),
      );
    });

    it('seeded-random-numbers', async () => {
      expect(await run(() => import('../examples/seeded-random-numbers'))).toBe(
        exactly('[ 0.6606157226487994, 0.12688010395504534, 0.11170196393504739 ]'),
      );
    });

    it('packed-int4', async () => {
      expect(await run(() => import('../examples/packed-int4'))).toBe(
        exactly(
          [
            'Uint8Array(3) [ 241, 135, 3 ]',
            'Int8Array(5) [ 1, -1, 7, -8, 3 ]',
            'Uint8Array(6) [ 241, 226, 211, 7, 24, 240 ]',
            'Int8Array(12) [ 1, 2, 3, -1, -2, -3, 7, -8, 0, 0, 1, -1 ]',
            'PTQ_INVALID_ARGUMENT Invalid argument "values": int4 values must lie in [-8, 7], got 9 at index 1',
          ].join('\n'),
        ),
      );
    });
  });
});
