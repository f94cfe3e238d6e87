// A GPT-2-124M-shaped checkpoint with random weights, made on the fly in Hugging Face layout (config,
// fp16 or fp32 safetensors, GPT-2's own tokenizer), so benchmarks measure real shapes without a download.
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeSafetensors } from '@ptq/safetensors';
import { createTensor, float32ArrayToFloat16, type Tensor } from '@ptq/tensor';

const TOKENIZER_DIR = new URL('../../packages/calibration/src/__fixtures__/gpt2-tokenizer/', import.meta.url);

export interface RandomGpt2Shape {
  layers: number;
  width: number;
  heads: number;
  vocab: number;
  positions: number;
}

export const GPT2_124M: RandomGpt2Shape = {
  layers: 12,
  width: 768,
  heads: 12,
  vocab: 50257,
  positions: 1024,
};

export const GPT2_LARGE: RandomGpt2Shape = {
  layers: 36,
  width: 1280,
  heads: 20,
  vocab: 50257,
  positions: 1024,
};

export const GPT2_XL: RandomGpt2Shape = { layers: 48, width: 1600, heads: 25, vocab: 50257, positions: 1024 };

/** mulberry32: a small seeded PRNG, so every run makes the same checkpoint. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export async function writeRandomGpt2(
  folder: string,
  shape: RandomGpt2Shape = GPT2_124M,
  seed = 1,
  dtype: 'float16' | 'float32' = 'float16',
): Promise<string> {
  mkdirSync(folder, { recursive: true });
  const uniform = random(seed);
  const stored = (values: Float32Array): Tensor =>
    dtype === 'float32'
      ? createTensor('float32', [values.length], values)
      : createTensor('float16', [values.length], float32ArrayToFloat16(values));
  const normal = (count: number, std: number): Tensor => {
    const values = new Float32Array(count);
    for (let index = 0; index < count; index += 2) {
      const radius = Math.sqrt(-2 * Math.log(uniform() + 1e-12));
      const angle = 2 * Math.PI * uniform();
      values[index] = radius * Math.cos(angle) * std;
      if (index + 1 < count) values[index + 1] = radius * Math.sin(angle) * std;
    }
    return stored(values);
  };
  const filled = (count: number, value: number) => stored(new Float32Array(count).fill(value));
  const shaped = (tensor: Tensor, dims: number[]): Tensor => ({ ...tensor, shape: dims }) as Tensor;
  const { layers, width, heads, vocab, positions } = shape;
  const tensors: Record<string, Tensor> = {
    'transformer.wte.weight': shaped(normal(vocab * width, 0.02), [vocab, width]),
    'transformer.wpe.weight': shaped(normal(positions * width, 0.01), [positions, width]),
    'transformer.ln_f.weight': filled(width, 1),
    'transformer.ln_f.bias': filled(width, 0),
  };
  for (let layer = 0; layer < layers; layer++) {
    const prefix = `transformer.h.${layer}`;
    for (const norm of ['ln_1', 'ln_2']) {
      tensors[`${prefix}.${norm}.weight`] = filled(width, 1);
      tensors[`${prefix}.${norm}.bias`] = filled(width, 0);
    }
    const linears: [string, number, number][] = [
      ['attn.c_attn', width, 3 * width],
      ['attn.c_proj', width, width],
      ['mlp.c_fc', width, 4 * width],
      ['mlp.c_proj', 4 * width, width],
    ];
    for (const [name, inFeatures, outFeatures] of linears) {
      tensors[`${prefix}.${name}.weight`] = shaped(normal(inFeatures * outFeatures, 0.02), [
        inFeatures,
        outFeatures,
      ]);
      tensors[`${prefix}.${name}.bias`] = filled(outFeatures, 0);
    }
  }
  await writeSafetensors(join(folder, 'model.safetensors'), tensors, { metadata: { format: 'pt' } });
  const config = {
    architectures: ['GPT2LMHeadModel'],
    model_type: 'gpt2',
    activation_function: 'gelu_new',
    n_layer: layers,
    n_head: heads,
    n_embd: width,
    n_positions: positions,
    n_ctx: positions,
    vocab_size: vocab,
    layer_norm_epsilon: 1e-5,
    bos_token_id: vocab - 1,
    eos_token_id: vocab - 1,
    tie_word_embeddings: true,
    torch_dtype: dtype,
  };
  writeFileSync(join(folder, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
  for (const file of ['tokenizer.json', 'tokenizer_config.json']) {
    copyFileSync(new URL(file, TOKENIZER_DIR), join(folder, file));
  }
  return folder;
}
