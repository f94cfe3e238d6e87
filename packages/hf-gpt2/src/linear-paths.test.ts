import { InvalidArgumentError } from '@ptq/errors';
import { describe, expect, it } from 'vitest';
import { gpt2BlockOfLinear, gpt2LinearPaths } from './linear-paths';

describe('gpt2BlockOfLinear', () => {
  it('gives every path of gpt2LinearPaths its block, lm_head the last', () => {
    const paths = gpt2LinearPaths(12);
    expect(paths.map((path) => gpt2BlockOfLinear(path, 12))).toEqual([
      ...Array.from({ length: 12 }, (_, block) => [block, block, block, block]).flat(),
      11,
    ]);
  });

  it('refuses any other path by name', () => {
    for (const path of ['transformer.wte', 'transformer.h.x.mlp.c_fc', 'h.0.attn.c_attn']) {
      expect(() => gpt2BlockOfLinear(path, 12)).toThrow(InvalidArgumentError);
      expect(() => gpt2BlockOfLinear(path, 12)).toThrow(`"${path}" is not a GPT-2 linear path`);
    }
  });
});
