import { fileURLToPath } from 'node:url';
import { FULL_TESTS } from '@ptq/vitest-config/full-tests';
import { itMatchesReadme, printedBy, printedValues } from '@ptq/vitest-config/readme-examples';
import { describe, expect, it } from 'vitest';

const packageFolder = fileURLToPath(new URL('..', import.meta.url));

describe('README Usage examples', () => {
  itMatchesReadme(packageFolder);

  // What they print is the README's result comments, exactly (every digit: the arithmetic is exact float32).
  describe.runIf(FULL_TESTS)('run', () => {
    const exactly = (text: string) => printedValues(text, 17);
    const run = (example: () => Promise<unknown>) => printedBy(example, { significantDigits: 17 });

    it('amax-to-scale', async () => {
      expect(await run(() => import('../examples/amax-to-scale'))).toBe(
        exactly(
          [
            "{ dtype: 'float32', shape: [ 3 ], data: Float32Array(3) [ 0.003937007859349251, 0.009999999776482582, 0 ] }",
            '127',
            '7',
            '448',
            '255',
          ].join('\n'),
        ),
      );
    });

    it('int8-per-channel', async () => {
      expect(await run(() => import('../examples/int8-per-channel'))).toBe(
        exactly(
          [
            '[ 2 ] Float32Array(2) [ 0.003937007859349251, 0.00031496063456870615 ]',
            'Int8Array(6) [ 25, -64, 127, 63, 95, -127 ]',
            'Float32Array(6) [ 0.09842519462108612, -0.25196850299835205, 0.5, 0.019842520356178284, 0.029921259731054306, -0.03999999910593033 ]',
          ].join('\n'),
        ),
      );
    });

    it('int4-blocks', async () => {
      expect(await run(() => import('../examples/int4-blocks'))).toBe(
        exactly(
          [
            '[ 2, 2 ] Float32Array(4) [ 0.10000000149011612, 0.014285714365541935, 0.05714285746216774, 0.11428571492433548 ]',
            'Int8Array(8) [ 7, -4, 7, 4, -4, 7, 7, -1 ]',
            'Uint8Array(4) [ 199, 124, 119, 244 ]',
            '[ 768, 13 ]',
          ].join('\n'),
        ),
      );
    });

    it('float8-per-tensor', async () => {
      expect(await run(() => import('../examples/float8-per-tensor'))).toBe(
        exactly(
          [
            '2.4000000953674316',
            'Float32Array(1) [ 0.0053571430034935474 ]',
            'Uint8Array(4) [ 102, 250, 126, 126 ]',
            'Float32Array(4) [ 0.30000001192092896, -1.7142857313156128, 2.4000000953674316, 2.4000000953674316 ]',
          ].join('\n'),
        ),
      );
    });

    it('modelopt-fake-quantization', async () => {
      expect(await run(() => import('../examples/modelopt-fake-quantization'))).toBe(
        exactly(
          ['Float32Array(1) [ -1.8205883502960205 ]', 'Float32Array(1) [ -1.806139349937439 ]'].join('\n'),
        ),
      );
    });
  });
});
