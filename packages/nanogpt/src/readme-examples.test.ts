import { fileURLToPath } from 'node:url';
import { FULL_TESTS } from '@ptq/vitest-config/full-tests';
import {
  captureConsoleLog,
  itMatchesReadme,
  printedBy,
  printedValues,
} from '@ptq/vitest-config/readme-examples';
import { describe, expect, it } from 'vitest';

const packageFolder = fileURLToPath(new URL('..', import.meta.url));

/** What an example prints, against the README's result comments (line breaks aside: see printedValues). */
async function expectPrinted(example: () => Promise<unknown>, lines: string[]): Promise<void> {
  expect(await printedBy(example)).toBe(printedValues(`${lines.join('\n')}\n`));
}

describe('README Usage examples', () => {
  itMatchesReadme(packageFolder);

  // Tiny models with seeded random weights on the CPU: the tokens are exact.
  describe.runIf(FULL_TESTS)('run', () => {
    it('quick-start generates the tokens the README shows', async () => {
      await expectPrinted(
        () => import('../examples/quick-start'),
        [
          '[ [ 5, 17, 42, 28, 10, 15, 51, 73, 93 ], [ 8, 9, 49, 26, 26, 26, 26, 26 ] ]',
          'cpu matmul-nbits true',
        ],
      );
    });

    it('state-dict lists block 0 attention parameters; refused-state-dict names the three problems', async () => {
      await expectPrinted(
        () => import('../examples/state-dict'),
        [
          'transformer.h.0.attn.c_attn.weight float32 [ 2304, 768 ]',
          'transformer.h.0.attn.c_attn.bias float32 [ 2304 ]',
          'transformer.h.0.attn.c_attn.weight_scale float32 [ 2304, 6 ]',
          'transformer.h.0.attn.c_attn.pre_quant_scale float32 [ 768 ]',
          'transformer.h.0.attn.c_proj.weight float32 [ 768, 768 ]',
          'transformer.h.0.attn.c_proj.bias float32 [ 768 ]',
          'transformer.h.0.attn.c_proj.weight_scale float32 [ 768, 6 ]',
          'transformer.h.0.attn.c_proj.pre_quant_scale float32 [ 768 ]',
          'true true',
        ],
      );
      const printed = await captureConsoleLog(() => import('../examples/refused-state-dict'));
      expect(printed.split('\n').slice(0, 5)).toEqual([
        'PTQ_STATE_DICT',
        'state dict does not fit the GPT model (3 problems):',
        '  - unexpected key "transformer.h.0.attn.bias"',
        '  - missing key "transformer.ln_f.bias"',
        `  - "transformer.h.0.attn.c_attn.weight_scale": shape [18, 768] does not match the model's [2304, 6] (int4 block scales [out, ceil(in / 128)], blocks of 128 along in); [18, 768] is the [out / 128, in] layout of reshape(-1, in_features), which gives weights the scales of other blocks: pass ModelOpt's [out, in / 128] layout, [2304, 6], where weight_scale[o, b] scales weight[o, 128·b … 128·b + 127]`,
      ]);
    });

    it('forward-and-cache prints the shapes and cache positions', async () => {
      await expectPrinted(
        () => import('../examples/forward-and-cache'),
        ['float32 [ 2, 3, 96 ]', '[ 2, 3, 96 ] [ 2, 1, 96 ] 4 [ 4, 3 ]'],
      );
    });

    it('generate: a seed reproduces its tokens, and a row stops at EOS', async () => {
      await expectPrinted(
        () => import('../examples/generate'),
        [
          '[ 28, 10, 10, 10, 10, 22, 78, 6 ]',
          '[ 28, 10, 10, 10, 10, 22, 78, 6 ]',
          '[ 28, 10, 93, 93, 4, 75, 28, 40 ]',
          '0 [ 28 ]',
          '1 [ 10 ]',
          '2 [ 49 ]',
          '[ 28, 10, 49 ]',
        ],
      );
    });
  });
});
