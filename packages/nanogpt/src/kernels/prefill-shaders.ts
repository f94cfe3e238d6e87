import { type AttentionShaderOptions, attentionShader } from './step-shaders';

/**
 * The kernels of a prompt's rows, all positions at once: workgroup dimension y is the row, and the
 * uniform `prompt` gives the first row's position (`base`). The linears are tiled matrix products
 * (`prompt-linear-shader.ts`).
 */

const THREADS = 128;

const PROMPT_UNIFORM = `struct Prompt {
  base: u32,
  rows: u32,
}
@group(0) @binding(0) var<uniform> prompt: Prompt;`;

/** `x[t] = wte[tokens[base + t]] + wpe[base + t]` for every row t. */
export function promptEmbeddingShader(embeddingSize: number): string {
  return /* wgsl */ `
${PROMPT_UNIFORM}
@group(0) @binding(1) var<storage, read> tokens: array<u32>;
@group(0) @binding(2) var<storage, read> wte: array<f32>;
@group(0) @binding(3) var<storage, read> wpe: array<f32>;
@group(0) @binding(4) var<storage, read_write> x: array<f32>;

@compute @workgroup_size(${THREADS})
fn main(@builtin(global_invocation_id) global: vec3<u32>) {
  let channel = global.x;
  if (channel >= ${embeddingSize}u) {
    return;
  }
  let position = prompt.base + global.y;
  x[global.y * ${embeddingSize}u + channel] =
    wte[tokens[position] * ${embeddingSize}u + channel] + wpe[position * ${embeddingSize}u + channel];
}
`;
}

/** Every row's key and value (from the packed `[q; k; v]` rows) into the cache, before attention reads them. */
export function storeKeysValuesShader({ numHeads, headSize, maxSequence }: AttentionShaderOptions): string {
  const width = numHeads * headSize;
  return /* wgsl */ `
${PROMPT_UNIFORM}
@group(0) @binding(1) var<storage, read> qkv: array<f32>;
@group(0) @binding(2) var<storage, read_write> keys: array<f32>;
@group(0) @binding(3) var<storage, read_write> values: array<f32>;

@compute @workgroup_size(${THREADS})
fn main(@builtin(global_invocation_id) global: vec3<u32>) {
  let channel = global.x;
  if (channel >= ${width}u) {
    return;
  }
  let row = global.y;
  let head = channel / ${headSize}u;
  let slot = head * ${maxSequence * headSize}u + (prompt.base + row) * ${headSize}u + channel % ${headSize}u;
  keys[slot] = qkv[row * ${3 * width}u + ${width}u + channel];
  values[slot] = qkv[row * ${3 * width}u + ${2 * width}u + channel];
}
`;
}

/**
 * Causal attention of every row, one workgroup per (head, row): the decode attention kernel with
 * the position taken from the row, and the keys and values already stored.
 */
export function promptAttentionShader(options: AttentionShaderOptions): string {
  return attentionShader(options);
}

export function channelWorkgroups(channels: number): number {
  return Math.ceil(channels / THREADS);
}
