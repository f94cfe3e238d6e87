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
  return [...iterateGpt2Parameters(config)];
}

/**
 * `gpt2Parameters` one at a time, in the same order: a config's layer count comes from a file, and
 * walking the first few parameters must not allocate all 12 · n_layer of them.
 */
export function* iterateGpt2Parameters(config: Gpt2Config): Generator<Gpt2Parameter> {
  yield* embeddingParameters(config);
  const blockShapes = blockParameterShapes(config);
  for (let layer = 0; layer < config.n_layer; layer++) {
    for (const [suffix, shape] of blockShapes) {
      yield { name: `transformer.h.${layer}.${suffix}`, shape };
    }
  }
  yield* headParameters(config);
}

/** How many parameters `iterateGpt2Parameters` yields. */
export function gpt2ParameterCount(config: Gpt2Config): number {
  return 5 + BLOCK_PARAMETER_COUNT * config.n_layer;
}

/**
 * The shape HF stores a parameter in when `name` (canonical, `transformer.`-prefixed) is one this
 * config's GPT2LMHeadModel has; undefined otherwise (a layer past n_layer, an unknown name).
 */
export function gpt2ParameterShape(config: Gpt2Config, name: string): readonly number[] | undefined {
  const block = BLOCK_NAME.exec(name);
  if (block !== null) {
    const layer = Number(block[1]);
    if (layer >= config.n_layer) return undefined;
    return blockParameterShapes(config).get(block[2]!);
  }
  for (const parameter of [...embeddingParameters(config), ...headParameters(config)]) {
    if (parameter.name === name) return parameter.shape;
  }
  return undefined;
}

/** The layer index of a canonical block parameter name (`transformer.h.7.ln_1.weight` → 7). */
export function layerOfParameter(name: string): number | undefined {
  const block = BLOCK_NAME.exec(name);
  return block === null ? undefined : Number(block[1]);
}

// Layer indices as save_pretrained writes them: no sign, no leading zeros.
const BLOCK_NAME = /^transformer\.h\.(0|[1-9]\d{0,9})\.(.+)$/;
const BLOCK_PARAMETER_COUNT = 12;

function embeddingParameters(config: Gpt2Config): Gpt2Parameter[] {
  return [
    { name: 'transformer.wte.weight', shape: [config.vocab_size, config.n_embd] },
    { name: 'transformer.wpe.weight', shape: [config.n_positions, config.n_embd] },
  ];
}

function headParameters(config: Gpt2Config): Gpt2Parameter[] {
  return [
    { name: 'transformer.ln_f.weight', shape: [config.n_embd] },
    { name: 'transformer.ln_f.bias', shape: [config.n_embd] },
    { name: 'lm_head.weight', shape: [config.vocab_size, config.n_embd] },
  ];
}

function blockParameterShapes(config: Gpt2Config): Map<string, readonly number[]> {
  const { n_embd: embed, n_inner: inner } = config;
  return new Map<string, readonly number[]>([
    ['ln_1.weight', [embed]],
    ['ln_1.bias', [embed]],
    ['attn.c_attn.weight', [embed, 3 * embed]],
    ['attn.c_attn.bias', [3 * embed]],
    ['attn.c_proj.weight', [embed, embed]],
    ['attn.c_proj.bias', [embed]],
    ['ln_2.weight', [embed]],
    ['ln_2.bias', [embed]],
    ['mlp.c_fc.weight', [embed, inner]],
    ['mlp.c_fc.bias', [inner]],
    ['mlp.c_proj.weight', [inner, embed]],
    ['mlp.c_proj.bias', [embed]],
  ]);
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
