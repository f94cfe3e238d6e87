/**
 * A tiny random GPT-2 (2 layers, 64 wide, 4 heads, vocab 50, 32 positions) written as HF checkpoints
 * in tests. Every weight is k/512 (|k| ≤ 96) or (64 + k)/64 (|k| ≤ 16) for LayerNorm gains, so it is
 * exact in float16 and bfloat16: checkpoints of any dtype hold the very same values.
 */
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeSafetensors, writeShardedSafetensors } from '@ptq/safetensors';
import { createTensor, float32ArrayToBfloat16, float32ArrayToFloat16, type Tensor } from '@ptq/tensor';

export const TINY_CONFIG = {
  architectures: ['GPT2LMHeadModel'],
  model_type: 'gpt2',
  vocab_size: 50,
  n_positions: 32,
  n_embd: 64,
  n_layer: 2,
  n_head: 4,
  n_inner: null,
  activation_function: 'gelu_new',
  layer_norm_epsilon: 1e-5,
  bos_token_id: 49,
  eos_token_id: 49,
  tie_word_embeddings: true,
} as const;

/** The reference forward's view of TINY_CONFIG. */
export const TINY_REFERENCE_CONFIG = {
  n_layer: 2,
  n_head: 4,
  n_embd: 64,
  n_inner: 256,
  vocab_size: 50,
  n_positions: 32,
  layer_norm_epsilon: 1e-5,
} as const;

const TOKENIZER_FOLDER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'tiny-tokenizer');

/** Deterministic 32-bit PRNG (mulberry32), so every run writes the same model. */
export function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface ShapedWeight {
  readonly shape: number[];
  readonly data: Float32Array;
}

/** Random tiny weights by prefixed HF name (lm_head not included: the model ties it). */
export function tinyWeights(seed = 1): Map<string, ShapedWeight> {
  const next = random(seed);
  const weights = new Map<string, ShapedWeight>();
  const small = (shape: number[]) => {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < data.length; i++) data[i] = Math.round((next() * 2 - 1) * 96) / 512;
    return { shape, data };
  };
  const gain = (size: number) => {
    const data = new Float32Array(size);
    for (let i = 0; i < size; i++) data[i] = (64 + Math.round((next() * 2 - 1) * 16)) / 64;
    return { shape: [size], data };
  };
  const { vocab_size: vocab, n_positions: positions, n_embd: embed } = TINY_CONFIG;
  const inner = 4 * embed;
  weights.set('transformer.wte.weight', small([vocab, embed]));
  weights.set('transformer.wpe.weight', small([positions, embed]));
  for (let layer = 0; layer < TINY_CONFIG.n_layer; layer++) {
    const block = `transformer.h.${layer}`;
    weights.set(`${block}.ln_1.weight`, gain(embed));
    weights.set(`${block}.ln_1.bias`, small([embed]));
    weights.set(`${block}.attn.c_attn.weight`, small([embed, 3 * embed]));
    weights.set(`${block}.attn.c_attn.bias`, small([3 * embed]));
    weights.set(`${block}.attn.c_proj.weight`, small([embed, embed]));
    weights.set(`${block}.attn.c_proj.bias`, small([embed]));
    weights.set(`${block}.ln_2.weight`, gain(embed));
    weights.set(`${block}.ln_2.bias`, small([embed]));
    weights.set(`${block}.mlp.c_fc.weight`, small([embed, inner]));
    weights.set(`${block}.mlp.c_fc.bias`, small([inner]));
    weights.set(`${block}.mlp.c_proj.weight`, small([inner, embed]));
    weights.set(`${block}.mlp.c_proj.bias`, small([embed]));
  }
  weights.set('transformer.ln_f.weight', gain(embed));
  weights.set('transformer.ln_f.bias', small([embed]));
  return weights;
}

/** Plain Float32Arrays by name, for the reference forward. */
export function referenceWeights(weights: ReadonlyMap<string, ShapedWeight>): Map<string, Float32Array> {
  return new Map([...weights].map(([name, weight]) => [name, weight.data]));
}

export interface WriteTinyCheckpointOptions {
  /** `prefixed` = save_pretrained keys; `unprefixed` = openai-community/gpt2 keys (default prefixed). */
  readonly layout?: 'prefixed' | 'unprefixed';
  readonly dtype?: 'float32' | 'float16' | 'bfloat16';
  /** Write `model.safetensors.index.json` + shards of at most this many bytes. */
  readonly maxShardBytes?: number;
  /** Add the `h.N.attn.bias` / `h.N.attn.masked_bias` buffers old checkpoints carry. */
  readonly attentionBuffers?: boolean;
  /** Also store `lm_head.weight` with these values (by default none is stored). */
  readonly lmHead?: Float32Array;
  readonly config?: Record<string, unknown>;
  /** Copy the tiny tokenizer into the folder (default true). */
  readonly tokenizer?: boolean;
  /** Prefixed names to leave out. */
  readonly omit?: readonly string[];
  /** Extra tensors, written under these exact keys. */
  readonly extra?: Readonly<Record<string, Tensor>>;
  /** Prefixed name → a replacement shape (filled with zeros). */
  readonly reshape?: Readonly<Record<string, number[]>>;
}

/** Writes a tiny GPT-2 folder (config, tokenizer, safetensors) and returns the weights it holds. */
export async function writeTinyCheckpoint(
  folder: string,
  weights: ReadonlyMap<string, ShapedWeight>,
  options: WriteTinyCheckpointOptions = {},
): Promise<void> {
  await mkdir(folder, { recursive: true });
  await writeFile(
    path.join(folder, 'config.json'),
    JSON.stringify({ ...TINY_CONFIG, ...options.config }, null, 2),
  );
  if (options.tokenizer ?? true) {
    for (const file of ['tokenizer.json', 'tokenizer_config.json']) {
      await copyFile(path.join(TOKENIZER_FOLDER, file), path.join(folder, file));
    }
  }
  const dtype = options.dtype ?? 'float32';
  const encode = (shape: number[], data: Float32Array): Tensor => {
    if (dtype === 'float16') return createTensor('float16', shape, float32ArrayToFloat16(data));
    if (dtype === 'bfloat16') return createTensor('bfloat16', shape, float32ArrayToBfloat16(data));
    return createTensor('float32', shape, data);
  };
  const keyOf = (name: string) =>
    options.layout === 'unprefixed' && name.startsWith('transformer.')
      ? name.slice('transformer.'.length)
      : name;
  const tensors: Record<string, Tensor> = {};
  for (const [name, weight] of weights) {
    if (options.omit?.includes(name)) continue;
    const shape = options.reshape?.[name];
    tensors[keyOf(name)] =
      shape === undefined
        ? encode(weight.shape, weight.data)
        : encode(shape, new Float32Array(shape.reduce((a, b) => a * b, 1)));
  }
  if (options.lmHead !== undefined) {
    tensors['lm_head.weight'] = encode([TINY_CONFIG.vocab_size, TINY_CONFIG.n_embd], options.lmHead);
  }
  if (options.attentionBuffers) {
    const positions = TINY_CONFIG.n_positions;
    const causal = new Uint8Array(positions * positions);
    for (let query = 0; query < positions; query++)
      for (let key = 0; key <= query; key++) causal[query * positions + key] = 1;
    for (let layer = 0; layer < TINY_CONFIG.n_layer; layer++) {
      tensors[keyOf(`transformer.h.${layer}.attn.bias`)] = createTensor(
        'bool',
        [1, 1, positions, positions],
        causal,
      );
      tensors[keyOf(`transformer.h.${layer}.attn.masked_bias`)] = createTensor(
        'float32',
        [],
        Float32Array.of(-1e4),
      );
    }
  }
  Object.assign(tensors, options.extra);
  if (options.maxShardBytes !== undefined) {
    await writeShardedSafetensors(folder, tensors, { maxShardBytes: options.maxShardBytes });
  } else {
    await writeSafetensors(path.join(folder, 'model.safetensors'), tensors, { metadata: { format: 'pt' } });
  }
}
