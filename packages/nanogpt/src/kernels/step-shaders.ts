/**
 * The kernels of a decode step around the linears. Every one reads the step's position from the
 * `state` buffer on the device (`[position, known]`: `known` counts the tokens already in
 * `tokens`), so many steps are encoded at once without the host in between.
 */

const THREADS = 128;

/** The halving strides of a tree reduction over the workgroup, largest first. */
function strides(): number[] {
  const list: number[] = [];
  for (let stride = THREADS / 2; stride >= 1; stride /= 2) list.push(stride);
  return list;
}

/**
 * Combines `partial` over the workgroup with `combine(a, b)` into `let result`, unrolled; thread 0
 * hands the result on through `shared_result` (see `linear-shader.ts` on why not `partial[0]`).
 */
function reduce(combine: (left: string, right: string) => string, result: string): string {
  const steps = strides().map(
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

/** `x = wte[tokens[position]] + wpe[position]`. */
export function embeddingShader(embeddingSize: number): string {
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> state: array<u32>;
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
  let position = state[0];
  x[channel] = wte[tokens[position] * ${embeddingSize}u + channel] + wpe[position * ${embeddingSize}u + channel];
}
`;
}

export function embeddingWorkgroups(embeddingSize: number): number {
  return Math.ceil(embeddingSize / THREADS);
}

export interface AttentionShaderOptions {
  readonly numHeads: number;
  readonly headSize: number;
  /** Positions the cache holds. */
  readonly maxSequence: number;
}

/**
 * Causal attention, one workgroup per head. `'decode'`: the newest position (from `state`); it
 * first stores this position's key and value (from the packed `c_attn` output `[q; k; v]`) in the
 * cache `[head, maxSequence, headSize]`. `'prompt'`: one workgroup per (head, row), the row's
 * position `prompt.base + row`, the keys and values stored already (`storeKeysValuesShader`). Then
 * softmax(q·kᵀ / √headSize) · v over positions 0…position.
 */
export function attentionShader(
  { numHeads, headSize, maxSequence }: AttentionShaderOptions,
  kind: 'decode' | 'prompt' = 'decode',
): string {
  const width = numHeads * headSize;
  const header =
    kind === 'decode'
      ? `@group(0) @binding(0) var<storage, read> state: array<u32>;
@group(0) @binding(1) var<storage, read> qkv: array<f32>;
@group(0) @binding(2) var<storage, read_write> keys: array<f32>;
@group(0) @binding(3) var<storage, read_write> values: array<f32>;
@group(0) @binding(4) var<storage, read_write> attended: array<f32>;`
      : `struct Prompt {
  base: u32,
  rows: u32,
}
@group(0) @binding(0) var<uniform> prompt: Prompt;
@group(0) @binding(1) var<storage, read> qkv: array<f32>;
@group(0) @binding(2) var<storage, read> keys: array<f32>;
@group(0) @binding(3) var<storage, read> values: array<f32>;
@group(0) @binding(4) var<storage, read_write> attended: array<f32>;`;
  const start =
    kind === 'decode'
      ? `let position = state[0];
  let row = 0u;
  let base = head * ${maxSequence * headSize}u;
  for (var d = tid; d < ${headSize}u; d += ${THREADS}u) {
    query[d] = qkv[head * ${headSize}u + d];
    keys[base + position * ${headSize}u + d] = qkv[${width}u + head * ${headSize}u + d];
    values[base + position * ${headSize}u + d] = qkv[${2 * width}u + head * ${headSize}u + d];
  }
  storageBarrier();
  workgroupBarrier();`
      : `let row = group.y;
  let position = prompt.base + row;
  let base = head * ${maxSequence * headSize}u;
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

/**
 * Ends a step: the greedy token of `logits` (the first of equal maxima, as ArgMax), written as the
 * next position's token unless that token is already known (a prompt), and the position advanced.
 */
export function greedyAdvanceShader(vocabSize: number, maxSequence: number): string {
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read_write> state: array<u32>;
@group(0) @binding(1) var<storage, read_write> tokens: array<u32>;
@group(0) @binding(2) var<storage, read> logits: array<f32>;

var<workgroup> best_values: array<f32, ${THREADS}>;
var<workgroup> best_indices: array<u32, ${THREADS}>;

@compute @workgroup_size(${THREADS})
fn main(@builtin(local_invocation_id) local: vec3<u32>) {
  let tid = local.x;
  var best_value = -3.402823e38;
  var best_index = 0xffffffffu;
  for (var token = tid; token < ${vocabSize}u; token += ${THREADS}u) {
    let value = logits[token];
    if (value > best_value || best_index == 0xffffffffu) {
      best_value = value;
      best_index = token;
    }
  }
  best_values[tid] = best_value;
  best_indices[tid] = best_index;
  workgroupBarrier();
  for (var stride = ${THREADS / 2}u; stride > 0u; stride >>= 1u) {
    if (tid < stride) {
      let other_value = best_values[tid + stride];
      let other_index = best_indices[tid + stride];
      let mine = best_values[tid];
      if (other_index != 0xffffffffu &&
          (other_value > mine || (other_value == mine && other_index < best_indices[tid]))) {
        best_values[tid] = other_value;
        best_indices[tid] = other_index;
      }
    }
    workgroupBarrier();
  }
  if (tid == 0u) {
    let next = state[0] + 1u;
    if (next >= state[1] && next < ${maxSequence + 1}u) {
      tokens[next] = best_indices[0];
      state[1] = next + 1u;
    }
    state[0] = next;
  }
}
`;
}
