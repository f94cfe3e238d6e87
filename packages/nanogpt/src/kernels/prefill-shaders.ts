import { reductionStrides } from './linear-shader';
import { type AttentionShaderOptions, embeddingShader } from './step-shaders';

/**
 * The kernels of a prompt's rows, all positions at once: workgroup dimension y is the row, and the
 * uniform `prompt` gives the first row's position (`base`) and the batch row whose tokens and cache
 * slot the prompt uses (`batch_row`: its tokens `tokens[batch_row·(maxSequence + 1)…]`, its keys and
 * values `[batch_row, head, maxSequence, headSize]` as the decode step's). The linears are tiled
 * matrix products (`prompt-linear-shader.ts`).
 */

const THREADS = 128;

const PROMPT_UNIFORM = `struct Prompt {
  base: u32,
  rows: u32,
  first_row: u32,
  batch_row: u32,
}
@group(0) @binding(0) var<uniform> prompt: Prompt;`;

/** `x[t] = wte[tokens[base + t]] + wpe[base + t]` for every row t (tokens of the batch row's slice). */
export function promptEmbeddingShader(embeddingSize: number, maxSequence: number): string {
  return embeddingShader(embeddingSize, {
    header: PROMPT_UNIFORM,
    position: 'prompt.base + global.y',
    token: `prompt.batch_row * ${maxSequence + 1}u + position`,
    row: 'global.y',
  });
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
  let slot = (prompt.batch_row * ${numHeads}u + head) * ${maxSequence * headSize}u +
    (prompt.base + row) * ${headSize}u + channel % ${headSize}u;
  keys[slot] = qkv[row * ${3 * width}u + ${width}u + channel];
  values[slot] = qkv[row * ${3 * width}u + ${2 * width}u + channel];
}
`;
}

/**
 * Combines `partial` over the workgroup with `combine(a, b)` into `let result`, unrolled; thread 0
 * hands the result on through `shared_result` (see `linear-shader.ts` on why not `partial[0]`).
 */
function reduce(combine: (left: string, right: string) => string, result: string): string {
  const steps = reductionStrides(THREADS).map(
    (stride) => `if (tid < ${stride}u) {
    partial[tid] = ${combine('partial[tid]', `partial[tid + ${stride}u]`)};
  }
  workgroupBarrier();`,
  );
  return `workgroupBarrier();
  ${steps.join('\n  ')}
  if (tid == 0u) {
    shared_result = partial[0];
  }
  let ${result} = workgroupUniformLoad(&shared_result);`;
}

/**
 * Causal attention of a prompt's rows, one workgroup per (head, row): the row's position
 * `prompt.base + row`, the keys and values stored already (`storeKeysValuesShader`) in the cache
 * `[head, maxSequence, headSize]`. Then softmax(q·kᵀ / √headSize) · v over positions 0…position.
 * (Decode steps use `attentionPartialsShader` and `attentionCombineShader`.)
 */
export function promptAttentionShader({ numHeads, headSize, maxSequence }: AttentionShaderOptions): string {
  const width = numHeads * headSize;
  const header = `${PROMPT_UNIFORM}
@group(0) @binding(1) var<storage, read> qkv: array<f32>;
@group(0) @binding(2) var<storage, read> keys: array<f32>;
@group(0) @binding(3) var<storage, read> values: array<f32>;
@group(0) @binding(4) var<storage, read_write> attended: array<f32>;`;
  const start = `let row = group.y;
  let position = prompt.base + row;
  let base = (prompt.batch_row * ${numHeads}u + head) * ${maxSequence * headSize}u;
  for (var d = tid; d < ${headSize}u; d += ${THREADS}u) {
    query[d] = qkv[row * ${3 * width}u + head * ${headSize}u + d];
  }
  workgroupBarrier();`;
  return /* wgsl */ `
${header}

var<workgroup> query: array<f32, ${headSize}>;
var<workgroup> scores: array<f32, ${maxSequence}>;
var<workgroup> partial: array<f32, ${THREADS}>;
var<workgroup> shared_result: f32;

@compute @workgroup_size(${THREADS})
fn main(@builtin(workgroup_id) group: vec3<u32>, @builtin(local_invocation_id) local: vec3<u32>) {
  let head = group.x;
  let tid = local.x;
  ${start}

  var local_max = -3.402823e38;
  for (var t = tid; t <= position; t += ${THREADS}u) {
    var score = 0.0;
    for (var d = 0u; d < ${headSize}u; d++) {
      score += query[d] * keys[base + t * ${headSize}u + d];
    }
    score *= ${1 / Math.sqrt(headSize)};
    scores[t] = score;
    local_max = max(local_max, score);
  }
  partial[tid] = local_max;
  ${reduce((left, right) => `max(${left}, ${right})`, 'highest')}

  var local_sum = 0.0;
  for (var t = tid; t <= position; t += ${THREADS}u) {
    let weight = exp(scores[t] - highest);
    scores[t] = weight;
    local_sum += weight;
  }
  partial[tid] = local_sum;
  ${reduce((left, right) => `${left} + ${right}`, 'total')}
  // The weights in scores are read by every thread below.
  workgroupBarrier();

  for (var d = tid; d < ${headSize}u; d += ${THREADS}u) {
    var sum = 0.0;
    for (var t = 0u; t <= position; t++) {
      sum += scores[t] * values[base + t * ${headSize}u + d];
    }
    attended[row * ${width}u + head * ${headSize}u + d] = sum / total;
  }
}
`;
}

export function channelWorkgroups(channels: number): number {
  return Math.ceil(channels / THREADS);
}
