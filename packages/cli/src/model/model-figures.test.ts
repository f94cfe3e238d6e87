import { parseGpt2Config } from '@ptq/hf-gpt2';
import { expect, test } from 'vitest';
import { gpt2ParameterCount, linearShape, weightScaleCount } from './model-figures';

const config = (fields: Record<string, unknown>) =>
  parseGpt2Config(
    {
      model_type: 'gpt2',
      n_layer: 12,
      n_head: 12,
      n_embd: 768,
      n_positions: 1024,
      vocab_size: 50257,
      layer_norm_epsilon: 1e-5,
      ...fields,
    },
    'config.json',
  );

test('GPT-2 small has the 124,439,808 parameters Hugging Face reports; an untied head adds its own', () => {
  expect(gpt2ParameterCount(config({}))).toBe(124_439_808);
  expect(gpt2ParameterCount(config({ tie_word_embeddings: false }))).toBe(124_439_808 + 50257 * 768);
  // Untied only to be stored quantized: the model it came from had one.
  expect(gpt2ParameterCount(config({ tie_word_embeddings: false }), { headQuantized: true })).toBe(
    124_439_808,
  );
  // n_inner replaces 4 · n_embd in both MLP linears.
  expect(gpt2ParameterCount(config({ n_inner: 1024 })) - gpt2ParameterCount(config({}))).toBe(
    12 * (2 * 768 * (1024 - 3072) + (1024 - 3072)),
  );
});

test('linear shapes and weight scales as ModelOpt counts them', () => {
  const small = config({});
  expect(linearShape('transformer.h.0.attn.c_attn', small)).toEqual({ inputs: 768, outputs: 2304 });
  expect(linearShape('transformer.h.11.mlp.c_proj', small)).toEqual({ inputs: 3072, outputs: 768 });
  expect(linearShape('lm_head', small)).toEqual({ inputs: 768, outputs: 50257 });
  expect(linearShape('transformer.wte', small)).toBeUndefined();
  const layers = ['attn.c_attn', 'attn.c_proj', 'mlp.c_fc', 'mlp.c_proj'].map(
    (name) => `transformer.h.0.${name}`,
  );
  expect(weightScaleCount('int8-weight-only', layers, small)).toBe(2304 + 768 + 3072 + 768);
  expect(weightScaleCount('int4-weight-only', layers, small)).toBe(2304 * 6 + 768 * 6 + 3072 * 6 + 768 * 24);
  expect(weightScaleCount('float8', [...layers, 'lm_head'], small)).toBe(5);
  expect(weightScaleCount('float8', ['transformer.wte'], small)).toBeUndefined();
});
