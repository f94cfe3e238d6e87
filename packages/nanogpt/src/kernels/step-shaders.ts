import { reductionStrides } from './linear-shader';

/**
 * The kernels of a decode step around the linears. Every one reads the step's position from the
 * `state` buffer on the device (`[position, known, _, _]` per batch row: `known` counts the tokens
 * already in the row's slice of `tokens`), so many steps are encoded at once without the host in
 * between. A batch runs its rows as workgroup dimension y: row r's state is `state[4r…]`, its
 * tokens `tokens[r·(maxSequence + 1)…]`, its activations row r of `[rows, features]` buffers and
 * its keys and values `[r, head, maxSequence, headSize]` of the caches. Row 0 is batch 1's layout,
 * so a one-row step is what it was before batches.
 */

const THREADS = 128;

/**
 * Where an embedding kernel's rows come from: its position binding, and each row's position, the
 * index of its token in `tokens` and its output row.
 */
export interface EmbeddingRows {
  /** WGSL declaring binding 0, read by `position`. */
  readonly header: string;
  readonly position: string;
  /** Index of the row's token in `tokens` (may use `position`). */
  readonly token: string;
  readonly row: string;
}

/** A decode step's rows, one per batch row (y): each row's position from its `state` record. */
export function stepEmbeddingRows(maxSequence: number): EmbeddingRows {
  return {
    header: '@group(0) @binding(0) var<storage, read> state: array<u32>;',
    position: 'state[4u * global.y]',
    token: `global.y * ${maxSequence + 1}u + position`,
    row: 'global.y',
  };
}

/** `x[row] = wte[tokens[token]] + wpe[position]`, one thread per channel (y: the row). */
export function embeddingShader(embeddingSize: number, rows: EmbeddingRows): string {
  return /* wgsl */ `
${rows.header}
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
  let position = ${rows.position};
  x[${rows.row} * ${embeddingSize}u + channel] =
    wte[tokens[${rows.token}] * ${embeddingSize}u + channel] + wpe[position * ${embeddingSize}u + channel];
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

/** Positions per attention-partials workgroup (flash decoding's chunk of the cache). */
export const ATTENTION_CHUNK = 16;
/** Threads sharing one position's dot product (ATTENTION_CHUNK × this = THREADS). */
const ATTENTION_LANES = THREADS / ATTENTION_CHUNK;
/** Groups of positions summing a chunk's weighted values in parallel, one thread per (group, channel). */
const VALUE_GROUPS = 2;

/** Chunks of ATTENTION_CHUNK positions a cache of `maxSequence` positions holds. */
export function attentionChunks(maxSequence: number): number {
  return Math.ceil(maxSequence / ATTENTION_CHUNK);
}

/** Floats of one batch row's partials: per (head, chunk) its max, its sum of exp and its weighted values. */
export function attentionPartialsFloats({ numHeads, headSize, maxSequence }: AttentionShaderOptions): number {
  return numHeads * attentionChunks(maxSequence) * (headSize + 2);
}

/**
 * Decode attention, first half (flash decoding): one workgroup per (head, chunk of ATTENTION_CHUNK
 * positions), so the positions spread over many workgroups instead of one per head. Each computes
 * its chunk's scores (ATTENTION_LANES threads per position, neighbouring channels read by
 * neighbouring threads), their max `m`, `Σ exp(score − m)` and `Σ exp(score − m)·v`, into
 * `partials[head, chunk] = [m, sum, values…]`; `attentionCombineShader` merges the chunks up to the
 * position. The chunk holding the newest position also stores its key and value (from the packed
 * `c_attn` output `[q; k; v]`) in the cache `[head, maxSequence, headSize]`, and every workgroup
 * reads that position's key and value from `qkv`, so no workgroup waits on another's store.
 * Workgroup dimension y is the batch row.
 */
export function attentionPartialsShader({ numHeads, headSize, maxSequence }: AttentionShaderOptions): string {
  const width = numHeads * headSize;
  const chunks = attentionChunks(maxSequence);
  const stride = headSize + 2;
  const scale = 1 / Math.sqrt(headSize);
  const laneSteps = reductionStrides(ATTENTION_LANES).map(
    (step) => `if (lane < ${step}u) {
    dots[tid] += dots[tid + ${step}u];
  }
  workgroupBarrier();`,
  );
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> state: array<u32>;
@group(0) @binding(1) var<storage, read> qkv: array<f32>;
@group(0) @binding(2) var<storage, read_write> keys: array<f32>;
@group(0) @binding(3) var<storage, read_write> values: array<f32>;
@group(0) @binding(4) var<storage, read_write> partials: array<f32>;

var<workgroup> dots: array<f32, ${THREADS}>;
var<workgroup> weights: array<f32, ${ATTENTION_CHUNK}>;
var<workgroup> sums: array<f32, ${VALUE_GROUPS * headSize}>;

@compute @workgroup_size(${THREADS})
fn main(@builtin(workgroup_id) group: vec3<u32>, @builtin(local_invocation_id) local: vec3<u32>) {
  let head = group.x / ${chunks}u;
  let chunk = group.x % ${chunks}u;
  let row = group.y;
  let tid = local.x;
  let position = state[4u * row];
  let base = (row * ${numHeads}u + head) * ${maxSequence * headSize}u;
  let newest = row * ${3 * width}u + head * ${headSize}u;
  let start = chunk * ${ATTENTION_CHUNK}u;
  if (position >= start && position < start + ${ATTENTION_CHUNK}u) {
    for (var d = tid; d < ${headSize}u; d += ${THREADS}u) {
      keys[base + position * ${headSize}u + d] = qkv[${width}u + newest + d];
      values[base + position * ${headSize}u + d] = qkv[${2 * width}u + newest + d];
    }
  }

  // Thread (slot, lane): position start + slot, channels lane, lane + lanes and so on.
  let slot = tid / ${ATTENTION_LANES}u;
  let lane = tid % ${ATTENTION_LANES}u;
  let t = start + slot;
  var dot = 0.0;
  if (t < position) {
    for (var d = lane; d < ${headSize}u; d += ${ATTENTION_LANES}u) {
      dot += qkv[newest + d] * keys[base + t * ${headSize}u + d];
    }
  } else if (t == position) {
    for (var d = lane; d < ${headSize}u; d += ${ATTENTION_LANES}u) {
      dot += qkv[newest + d] * qkv[${width}u + newest + d];
    }
  }
  dots[tid] = dot;
  workgroupBarrier();
  ${laneSteps.join('\n  ')}
  var highest = -3.402823e38;
  for (var s = 0u; s < ${ATTENTION_CHUNK}u; s++) {
    if (start + s <= position) {
      highest = max(highest, dots[s * ${ATTENTION_LANES}u] * ${scale});
    }
  }
  if (tid < ${ATTENTION_CHUNK}u) {
    var weight = 0.0;
    if (start + tid <= position) {
      weight = exp(dots[tid * ${ATTENTION_LANES}u] * ${scale} - highest);
    }
    weights[tid] = weight;
  }
  workgroupBarrier();

  // Thread (group, channel): the weighted values of positions group, group + groups and so on.
  for (var item = tid; item < ${VALUE_GROUPS * headSize}u; item += ${THREADS}u) {
    let d = item % ${headSize}u;
    var sum = 0.0;
    for (var s = item / ${headSize}u; s < ${ATTENTION_CHUNK}u; s += ${VALUE_GROUPS}u) {
      let at = start + s;
      if (at < position) {
        sum += weights[s] * values[base + at * ${headSize}u + d];
      } else if (at == position) {
        sum += weights[s] * qkv[${2 * width}u + newest + d];
      }
    }
    sums[item] = sum;
  }
  workgroupBarrier();
  let out = ((row * ${numHeads}u + head) * ${chunks}u + chunk) * ${stride}u;
  for (var d = tid; d < ${headSize}u; d += ${THREADS}u) {
    var total = 0.0;
    for (var g = 0u; g < ${VALUE_GROUPS}u; g++) {
      total += sums[g * ${headSize}u + d];
    }
    partials[out + 2u + d] = total;
  }
  if (tid == 0u) {
    var weight_sum = 0.0;
    for (var s = 0u; s < ${ATTENTION_CHUNK}u; s++) {
      weight_sum += weights[s];
    }
    partials[out] = highest;
    partials[out + 1u] = weight_sum;
  }
}
`;
}

export function attentionPartialsWorkgroups({ numHeads, maxSequence }: AttentionShaderOptions): number {
  return numHeads * attentionChunks(maxSequence);
}

/**
 * Decode attention, second half: one workgroup per head merges the chunks 0…position / CHUNK of
 * `attentionPartialsShader`, each rescaled by exp(m − M) to the overall max M, into
 * `attended = Σ values / Σ sum` (softmax(q·kᵀ / √headSize) · v). Workgroup dimension y is the batch row.
 */
export function attentionCombineShader({ numHeads, headSize, maxSequence }: AttentionShaderOptions): string {
  const chunks = attentionChunks(maxSequence);
  const stride = headSize + 2;
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> state: array<u32>;
@group(0) @binding(1) var<storage, read> partials: array<f32>;
@group(0) @binding(2) var<storage, read_write> attended: array<f32>;

@compute @workgroup_size(${THREADS})
fn main(@builtin(workgroup_id) group: vec3<u32>, @builtin(local_invocation_id) local: vec3<u32>) {
  let head = group.x;
  let row = group.y;
  let used = state[4u * row] / ${ATTENTION_CHUNK}u + 1u;
  let first = (row * ${numHeads}u + head) * ${chunks * stride}u;
  var highest = -3.402823e38;
  for (var c = 0u; c < used; c++) {
    highest = max(highest, partials[first + c * ${stride}u]);
  }
  var total = 0.0;
  for (var c = 0u; c < used; c++) {
    total += partials[first + c * ${stride}u + 1u] * exp(partials[first + c * ${stride}u] - highest);
  }
  for (var d = local.x; d < ${headSize}u; d += ${THREADS}u) {
    var sum = 0.0;
    for (var c = 0u; c < used; c++) {
      let at = first + c * ${stride}u;
      sum += partials[at + 2u + d] * exp(partials[at] - highest);
    }
    attended[(row * ${numHeads}u + head) * ${headSize}u + d] = sum / total;
  }
}
`;
}

/** Logits per greedy-partials workgroup. */
export const GREEDY_CHUNK = 256;

/** Workgroups (and partials) of the greedy step's first stage, per batch row. */
export function greedyChunks(vocabSize: number): number {
  return Math.ceil(vocabSize / GREEDY_CHUNK);
}

/**
 * The tree reduction of `(best_values, best_indices)` over the workgroup to its greatest value, the
 * first index among equal values (as ArgMax); a slot holding no candidate has index `0xffffffff`.
 */
const BEST_REDUCTION = `workgroupBarrier();
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
  }`;

/**
 * The greedy step's first stage: one workgroup per GREEDY_CHUNK logits writes its chunk's greatest
 * logit and first index among equal ones into `partials[2·chunk…]` (the value's bits, the index),
 * so the vocabulary is scanned by many workgroups instead of one. Workgroup dimension y is the
 * batch row (its logits `[row, vocab]`, its partials after the rows before it).
 */
export function greedyPartialsShader(vocabSize: number): string {
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> logits: array<f32>;
@group(0) @binding(1) var<storage, read_write> partials: array<u32>;

var<workgroup> best_values: array<f32, ${THREADS}>;
var<workgroup> best_indices: array<u32, ${THREADS}>;

@compute @workgroup_size(${THREADS})
fn main(@builtin(workgroup_id) group: vec3<u32>, @builtin(local_invocation_id) local: vec3<u32>) {
  let tid = local.x;
  let row_logits = group.y * ${vocabSize}u;
  let start = group.x * ${GREEDY_CHUNK}u;
  let end = min(start + ${GREEDY_CHUNK}u, ${vocabSize}u);
  var best_value = -3.402823e38;
  var best_index = 0xffffffffu;
  for (var token = start + tid; token < end; token += ${THREADS}u) {
    let value = logits[row_logits + token];
    if (value > best_value || best_index == 0xffffffffu) {
      best_value = value;
      best_index = token;
    }
  }
  best_values[tid] = best_value;
  best_indices[tid] = best_index;
  ${BEST_REDUCTION}
  if (tid == 0u) {
    let at = 2u * (group.y * ${greedyChunks(vocabSize)}u + group.x);
    partials[at] = bitcast<u32>(best_values[0]);
    partials[at + 1u] = best_indices[0];
  }
}
`;
}

/**
 * The greedy step's second stage, one workgroup: the greatest of the chunks' partials (the first
 * index among equal maxima, as ArgMax), written as the next position's token unless that token is
 * already known (a prompt), and the position advanced. One workgroup per batch row (dimension y).
 */
export function greedyCombineShader(vocabSize: number, maxSequence: number): string {
  const chunks = greedyChunks(vocabSize);
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read_write> state: array<u32>;
@group(0) @binding(1) var<storage, read_write> tokens: array<u32>;
@group(0) @binding(2) var<storage, read> partials: array<u32>;

var<workgroup> best_values: array<f32, ${THREADS}>;
var<workgroup> best_indices: array<u32, ${THREADS}>;

@compute @workgroup_size(${THREADS})
fn main(@builtin(workgroup_id) group: vec3<u32>, @builtin(local_invocation_id) local: vec3<u32>) {
  let tid = local.x;
  let row = group.y;
  let first = 2u * row * ${chunks}u;
  var best_value = -3.402823e38;
  var best_index = 0xffffffffu;
  // Chunks in order, each holding lower indices than the next: a later one wins only if greater.
  for (var chunk = tid; chunk < ${chunks}u; chunk += ${THREADS}u) {
    let value = bitcast<f32>(partials[first + 2u * chunk]);
    if (value > best_value || best_index == 0xffffffffu) {
      best_value = value;
      best_index = partials[first + 2u * chunk + 1u];
    }
  }
  best_values[tid] = best_value;
  best_indices[tid] = best_index;
  ${BEST_REDUCTION}
  if (tid == 0u) {
    let record = 4u * row;
    let next = state[record] + 1u;
    if (next >= state[record + 1u] && next < ${maxSequence + 1}u) {
      tokens[row * ${maxSequence + 1}u + next] = best_indices[0];
      state[record + 1u] = next + 1u;
    }
    state[record] = next;
  }
}
`;
}
