import { fileURLToPath } from 'node:url';
import { FULL_TESTS } from '@ptq/vitest-config/full-tests';
import { captureConsoleLog, itMatchesReadme } from '@ptq/vitest-config/readme-examples';
import { describe, expect, it } from 'vitest';

const packageFolder = fileURLToPath(new URL('..', import.meta.url));

describe('README Usage examples', () => {
  itMatchesReadme(packageFolder);

  // The printed lines are the README's result comments.
  it.runIf(FULL_TESTS)('print what the README says they print', async () => {
    expect(await captureConsoleLog(() => import('../examples/model-tree'))).toBe('');
    expect(await captureConsoleLog(() => import('../examples/get-submodule'))).toBe(
      'Linear 768 2304\ntrue\ntrue\n',
    );
    expect(await captureConsoleLog(() => import('../examples/walk-modules'))).toBe(
      [
        '"" GPT2LMHeadModel',
        '"transformer" GPT2Model',
        '"transformer.h.0" Block',
        '"transformer.h.0.attn" Attention',
        '"transformer.h.0.attn.c_attn" Linear',
        '"transformer.h.0.attn.c_proj" Linear',
        '"transformer.h.1" Block',
        '"transformer.h.1.attn" Attention',
        '"transformer.h.1.attn.c_attn" Linear',
        '"transformer.h.1.attn.c_proj" Linear',
        '"transformer.experts.gate" Linear',
        '"lm_head" Linear',
        "[ 'h.0', 'h.1', 'experts.gate' ]",
        '',
      ].join('\n'),
    );
    expect(await captureConsoleLog(() => import('../examples/replace-modules'))).toBe(
      'QuantLinear\nQuantLinear\nLinear\n',
    );
  });
});
