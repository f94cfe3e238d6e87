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
