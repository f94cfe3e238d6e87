import { fileURLToPath } from 'node:url';
import { FULL_TESTS } from '@ptq/vitest-config/full-tests';
import { captureConsoleLog, itMatchesReadme, printedValues } from '@ptq/vitest-config/readme-examples';
import { describe, expect, it } from 'vitest';

const packageFolder = fileURLToPath(new URL('..', import.meta.url));

describe('README Usage examples', () => {
  itMatchesReadme(packageFolder);

  // What they print is the README's result comments (numbers to 6 significant digits, line breaks
  // aside: see printedValues). The later examples import the first (`./load-and-run`),
  // which runs once, when this test imports it.
  describe.runIf(FULL_TESTS)('run on the bundled model', () => {
    it('load-and-run', async () => {
      const printed = await captureConsoleLog(() => import('../examples/load-and-run'));
      expect(printedValues(printed)).toBe(
        printedValues(
          [
            '4',
            '[',
            "  'transformer.h.0.attn.c_attn',",
            "  'transformer.h.0.attn.c_proj',",
            "  'transformer.h.0.mlp.c_fc',",
            "  'transformer.h.0.mlp.c_proj',",
            "  'transformer.h.1.attn.c_attn'",
            ']',
            '[ 2, 12, 8192 ]',
            'cpu',
            '',
          ].join('\n'),
        ),
      );
    });

    it('taps', async () => {
      const printed = await captureConsoleLog(() => import('../examples/taps'));
      expect(printedValues(printed)).toBe(
        printedValues(
          [
            '15 3.081138849258423',
            'Float32Array(4) [ 0.6369372010231018, 0.8389987945556641, 0.8584924936294556, 0.7704927325248718 ]',
            '[ 15, 256 ]',
            '',
          ].join('\n'),
        ),
      );
    });

    it('one-block-at-a-time', async () => {
      const printed = await captureConsoleLog(() => import('../examples/one-block-at-a-time'));
      expect(printedValues(printed)).toBe(
        printedValues(
          [
            'transformer.h.0.mlp.c_fc 3.2728962898254395',
            'transformer.h.1.mlp.c_fc 3.7685306072235107',
            'transformer.h.2.mlp.c_fc 4.322563648223877',
            'transformer.h.3.mlp.c_fc 3.634993553161621',
            '',
          ].join('\n'),
        ),
      );
    });

    it('perplexity', async () => {
      const printed = await captureConsoleLog(() => import('../examples/perplexity'));
      expect(printedValues(printed)).toBe(
        printedValues(
          [
            '{ perplexity: 183.29702738371242, negativeLogLikelihood: 312.6664762496948, tokenCount: 60 }',
            '{ perplexity: 198.73875517957637, negativeLogLikelihood: 317.51947045326233, tokenCount: 60 }',
            '',
          ].join('\n'),
        ),
      );
    });
  });
});
