import type { Gpt2Config } from '../config';

/** A parameter of GPT2LMHeadModel: its name in `save_pretrained` layout and its shape. */
export interface Gpt2Parameter {
  readonly name: string;
  readonly shape: readonly number[];
}

/**
 * Every parameter a GPT2LMHeadModel with this config has, named as `save_pretrained` writes them
 * (`transformer.`-prefixed), with the shapes HF stores: Conv1D weights [in, out], `lm_head.weight`
 * [vocab, embed]. `lm_head.weight` is last; it is optional when tied.
 */
export function gpt2Parameters(config: Gpt2Config): Gpt2Parameter[] {
  const { n_embd: embed, n_inner: inner, vocab_size: vocab, n_positions: positions } = config;
  const parameters: Gpt2Parameter[] = [
    { name: 'transformer.wte.weight', shape: [vocab, embed] },
    { name: 'transformer.wpe.weight', shape: [positions, embed] },
  ];
  for (let layer = 0; layer < config.n_layer; layer++) {
    const block = `transformer.h.${layer}`;
    parameters.push(
      { name: `${block}.ln_1.weight`, shape: [embed] },
      { name: `${block}.ln_1.bias`, shape: [embed] },
      { name: `${block}.attn.c_attn.weight`, shape: [embed, 3 * embed] },
      { name: `${block}.attn.c_attn.bias`, shape: [3 * embed] },
      { name: `${block}.attn.c_proj.weight`, shape: [embed, embed] },
      { name: `${block}.attn.c_proj.bias`, shape: [embed] },
      { name: `${block}.ln_2.weight`, shape: [embed] },
      { name: `${block}.ln_2.bias`, shape: [embed] },
      { name: `${block}.mlp.c_fc.weight`, shape: [embed, inner] },
      { name: `${block}.mlp.c_fc.bias`, shape: [inner] },
      { name: `${block}.mlp.c_proj.weight`, shape: [inner, embed] },
      { name: `${block}.mlp.c_proj.bias`, shape: [embed] },
    );
  }
  parameters.push(
    { name: 'transformer.ln_f.weight', shape: [embed] },
    { name: 'transformer.ln_f.bias', shape: [embed] },
    { name: 'lm_head.weight', shape: [vocab, embed] },
  );
  return parameters;
}

// Causal-mask buffers older checkpoints carry (openai-community/gpt2 has `h.N.attn.bias`); the graph
// builds its own mask, so they are skipped rather than reported as unexpected.
const BUFFER_PATTERN = /(^|\.)h\.\d+\.attn\.(bias|masked_bias)$/;

export function isAttentionBuffer(key: string): boolean {
  return BUFFER_PATTERN.test(key);
}

/**
 * The `save_pretrained` name of a checkpoint key: keys of the bare-GPT2Model layout
 * (`openai-community/gpt2`: `h.0.attn.c_attn.weight`, `wte.weight`) get the `transformer.` prefix.
 */
export function canonicalParameterName(key: string): string {
  if (key.startsWith('transformer.') || key.startsWith('lm_head.')) return key;
  return `transformer.${key}`;
}
