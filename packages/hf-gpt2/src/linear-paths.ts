import { InvalidArgumentError } from '@ptq/errors';

/** Paths of every linear of a GPT2LMHeadModel with `layerCount` blocks, in forward order. */
export function gpt2LinearPaths(layerCount: number): string[] {
  const paths: string[] = [];
  for (let layer = 0; layer < layerCount; layer++) {
    const block = `transformer.h.${layer}`;
    paths.push(`${block}.attn.c_attn`, `${block}.attn.c_proj`, `${block}.mlp.c_fc`, `${block}.mlp.c_proj`);
  }
  paths.push('lm_head');
  return paths;
}

/**
 * The block a linear path of `gpt2LinearPaths` belongs to: `transformer.h.N.…` is block N, and
 * `lm_head` (whose input is the last block's output) counts to the last block. Any other path is an
 * `InvalidArgumentError` on `linears`.
 */
export function gpt2BlockOfLinear(path: string, layerCount: number): number {
  if (path === 'lm_head') return layerCount - 1;
  const match = /^transformer\.h\.(\d+)\./.exec(path);
  if (match === null) throw new InvalidArgumentError('linears', `"${path}" is not a GPT-2 linear path`);
  return Number(match[1]);
}
