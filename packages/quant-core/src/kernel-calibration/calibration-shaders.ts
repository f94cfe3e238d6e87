/**
 * The kernels of calibration on the GPU besides the matrix product (`matrix-product-shader.ts`): a
 * GPT-2 block's LayerNorm and causal attention over whole sequences, the statistics calibration
 * takes of a linear's input (max |x|, per-channel mean |x|), and the AWQ search's candidate weights.
 * Every kernel is float32; rows of a `[rows, width]` matrix are `row·width + column`.
 */

/** Threads of the row kernels (compatibility mode's most per workgroup). */
const THREADS = 128;
/** Rows per dispatch along x; more rows go on along y (a dimension holds at most 65,535 workgroups). */
const ROWS_PER_DIMENSION = 32768;

/** Workgroups `[x, y]` of a one-workgroup-per-row kernel over `rows`. */
export function rowWorkgroups(rows: number): [number, number] {
  return [Math.min(rows, ROWS_PER_DIMENSION), Math.ceil(rows / ROWS_PER_DIMENSION)];
}

/** Sums `partial` over the workgroup's THREADS threads into `let ${result}` (unrolled tree). */
function workgroupSum(result: string): string {
  const steps: string[] = [];
  for (let stride = THREADS / 2; stride >= 1; stride /= 2) {
    steps.push(`if (tid < ${stride}u) {
    partial[tid] += partial[tid + ${stride}u];
  }
  workgroupBarrier();`);
  }
  return `workgroupBarrier();
  ${steps.join('\n  ')}
  if (tid == 0u) {
    shared_result = partial[0];
  }
  let ${result} = workgroupUniformLoad(&shared_result);`;
}

/** The workgroup memory `workgroupSum` uses. */
const SUM_MEMORY = `var<workgroup> partial: array<f32, ${THREADS}>;
var<workgroup> shared_result: f32;`;

/**
 * The first lines of a one-workgroup-per-row kernel with workgroup sums: `row`, whether it is
 * `inside` the uniform's `rows.count`, and its first element `base`. Every workgroup goes on to the
 * barriers of its sums: a row past the end computes on row 0 and must store nothing.
 */
function rowStart(width: number): string {
  return `let row = group.y * ${ROWS_PER_DIMENSION}u + group.x;
  let inside = row < rows.count;
  let base = select(0u, row * ${width}u, inside);`;
}

/**
 * `output[row] = LayerNorm(input[row])·gamma + beta` (mean and variance over the row, 1/√(variance +
 * epsilon)), one workgroup per row. Bindings: 0 `{count: u32, epsilon: f32}`, 1 input, 2 output,
 * 3 gamma, 4 beta. Dispatch `rowWorkgroups(rows)`.
 */
export function layerNormShader(width: number): string {
  return /* wgsl */ `
struct Rows {
  count: u32,
  epsilon: f32,
}
@group(0) @binding(0) var<uniform> rows: Rows;
@group(0) @binding(1) var<storage, read> input: array<f32>;
@group(0) @binding(2) var<storage, read_write> output: array<f32>;
@group(0) @binding(3) var<storage, read> gamma: array<f32>;
@group(0) @binding(4) var<storage, read> beta: array<f32>;

${SUM_MEMORY}

@compute @workgroup_size(${THREADS})
fn main(@builtin(workgroup_id) group: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  ${rowStart(width)}
  var local_sum = 0.0;
  for (var i = tid; i < ${width}u; i += ${THREADS}u) {
    local_sum += input[base + i];
  }
  partial[tid] = local_sum;
  ${workgroupSum('total')}
  let mean = total / ${width}.0;
  var local_squares = 0.0;
  for (var i = tid; i < ${width}u; i += ${THREADS}u) {
    let centered = input[base + i] - mean;
    local_squares += centered * centered;
  }
  partial[tid] = local_squares;
  ${workgroupSum('squares')}
  let deviation = sqrt(squares / ${width}.0 + rows.epsilon);
  if (inside) {
    for (var i = tid; i < ${width}u; i += ${THREADS}u) {
      output[base + i] = (input[base + i] - mean) / deviation * gamma[i] + beta[i];
    }
  }
}
`;
}

export interface AttentionShape {
  readonly heads: number;
  readonly headSize: number;
}

/**
 * `count` copies of a statement, one per constant index: a register array indexed at run time would
 * be kept in memory instead.
 */
function unrolled(count: number, statement: (index: number) => string): string {
  return Array.from({ length: count }, (_, index) => statement(index)).join('\n    ');
}

/** Query rows per attention workgroup. */
const QUERY_TILE = 16;
/** Key rows per step of attention. */
const KEY_TILE = 32;

/** Workgroup memory of the attention kernel: the query tile, a key or value tile, the scores. */
export function attentionWorkgroupBytes({ headSize }: AttentionShape): number {
  return 4 * (QUERY_TILE * headSize + KEY_TILE * (headSize + 1) + QUERY_TILE * KEY_TILE);
}

/** Workgroups `[query tiles, heads, sequences]` of the attention kernel. */
export function attentionWorkgroups(
  { heads }: AttentionShape,
  sequenceLength: number,
  sequences: number,
): [number, number, number] {
  return [Math.ceil(sequenceLength / QUERY_TILE), heads, sequences];
}

/**
 * Causal self-attention of whole sequences, `softmax(q·kᵀ / √headSize)·v` over positions 0…row, from
 * the packed `[q; k; v]` rows of `c_attn` (`[rows, 3·width]`, sequence s at rows `s·length…`). One
 * workgroup per (tile of QUERY_TILE queries, head, sequence); keys and values go through workgroup
 * memory KEY_TILE rows at a time with a running softmax (the maximum so far, the sum rescaled when it
 * grows). Keys whose `mask` word is 0 (padding) are never attended to; a query with no key to attend
 * to (a left pad) gets zeros. Bindings: 0 `{length: u32}`, 1 qkv, 2 attended `[rows, width]`, 3 mask
 * (u32 per row).
 */
export function attentionShader({ heads, headSize }: AttentionShape): string {
  const width = heads * headSize;
  const outputsPerThread = (QUERY_TILE * headSize) / THREADS;
  const scoresPerThread = (QUERY_TILE * KEY_TILE) / THREADS;
  const threadsPerRow = THREADS / QUERY_TILE;
  if (!Number.isInteger(outputsPerThread) || !Number.isInteger(scoresPerThread)) {
    throw new RangeError(`attention needs a head size that is a multiple of ${THREADS / QUERY_TILE}`);
  }
  const divisor = Math.fround(Math.sqrt(headSize));
  // Key rows one word longer than a head: the lanes of a query read different keys' words, and a
  // stride of exactly headSize words would put them all in one memory bank.
  const stride = headSize + 1;
  return /* wgsl */ `
struct Sequence {
  length: u32,
}
@group(0) @binding(0) var<uniform> sequence: Sequence;
@group(0) @binding(1) var<storage, read> qkv: array<f32>;
@group(0) @binding(2) var<storage, read_write> attended: array<f32>;
@group(0) @binding(3) var<storage, read> mask: array<u32>;

var<workgroup> queries: array<f32, ${QUERY_TILE * headSize}>;
var<workgroup> keys_values: array<f32, ${KEY_TILE * stride}>;
var<workgroup> scores: array<f32, ${QUERY_TILE * KEY_TILE}>;

@compute @workgroup_size(${THREADS})
fn main(@builtin(workgroup_id) group: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let length = sequence.length;
  let head = group.y;
  let first_query = group.x * ${QUERY_TILE}u;
  let first_row = group.z * length;
  for (var e = tid; e < ${QUERY_TILE * headSize}u; e += ${THREADS}u) {
    let query = first_query + e / ${headSize}u;
    var value = 0.0;
    if (query < length) {
      value = qkv[(first_row + query) * ${3 * width}u + head * ${headSize}u + e % ${headSize}u];
    }
    queries[e] = value;
  }
  // Thread tid serves query row tid / ${threadsPerRow} of the tile: its scores are key columns
  // tid % ${threadsPerRow} + ${threadsPerRow}·j, its outputs channels tid % ${threadsPerRow} + ${threadsPerRow}·j.
  let local_row = tid / ${threadsPerRow}u;
  let lane = tid % ${threadsPerRow}u;
  let query = first_query + local_row;
  var highest = -3.402823e38;
  var total = 0.0;
  var outputs: array<f32, ${outputsPerThread}>;
  let last_key = min(length, first_query + ${QUERY_TILE}u);
  for (var k0 = 0u; k0 < last_key; k0 += ${KEY_TILE}u) {
    workgroupBarrier();
    for (var e = tid; e < ${KEY_TILE * headSize}u; e += ${THREADS}u) {
      let key = k0 + e / ${headSize}u;
      var value = 0.0;
      if (key < length) {
        value = qkv[(first_row + key) * ${3 * width}u + ${width}u + head * ${headSize}u + e % ${headSize}u];
      }
      keys_values[(e / ${headSize}u) * ${stride}u + e % ${headSize}u] = value;
    }
    workgroupBarrier();
    for (var j = 0u; j < ${scoresPerThread}u; j++) {
      let column = lane + j * ${threadsPerRow}u;
      var score = 0.0;
      for (var d = 0u; d < ${headSize}u; d++) {
        score += queries[local_row * ${headSize}u + d] * keys_values[column * ${stride}u + d];
      }
      score = score / ${divisor};
      if (!attends(query, k0 + column, first_row)) {
        score = -3.402823e38;
      }
      scores[local_row * ${KEY_TILE}u + column] = score;
    }
    workgroupBarrier();
    var tile_highest = highest;
    for (var c = 0u; c < ${KEY_TILE}u; c++) {
      tile_highest = max(tile_highest, scores[local_row * ${KEY_TILE}u + c]);
    }
    // Every lane of the row has read the row's scores: each now turns its own into weights.
    workgroupBarrier();
    for (var j = 0u; j < ${scoresPerThread}u; j++) {
      let column = lane + j * ${threadsPerRow}u;
      let index = local_row * ${KEY_TILE}u + column;
      scores[index] = select(0.0, exp(scores[index] - tile_highest), attends(query, k0 + column, first_row));
    }
    let rescale = exp(highest - tile_highest);
    highest = tile_highest;
    total = total * rescale;
    ${unrolled(outputsPerThread, (j) => `outputs[${j}] = outputs[${j}] * rescale;`)}
    for (var e = tid; e < ${KEY_TILE * headSize}u; e += ${THREADS}u) {
      let key = k0 + e / ${headSize}u;
      var value = 0.0;
      if (key < length) {
        value = qkv[(first_row + key) * ${3 * width}u + ${2 * width}u + head * ${headSize}u + e % ${headSize}u];
      }
      keys_values[(e / ${headSize}u) * ${stride}u + e % ${headSize}u] = value;
    }
    workgroupBarrier();
    for (var c = 0u; c < ${KEY_TILE}u; c++) {
      let weight = scores[local_row * ${KEY_TILE}u + c];
      total += weight;
      ${unrolled(outputsPerThread, (j) => `outputs[${j}] += weight * keys_values[c * ${stride}u + lane + ${j * threadsPerRow}u];`)}
    }
  }
  if (query < length) {
    let base = (first_row + query) * ${width}u + head * ${headSize}u + lane;
    ${unrolled(outputsPerThread, (j) => `attended[base + ${j * threadsPerRow}u] = select(outputs[${j}] / total, 0.0, total == 0.0);`)}
  }
}

fn attends(query: u32, key: u32, first_row: u32) -> bool {
  return key <= query && mask[first_row + key] != 0u;
}
`;
}

/**
 * `output[i] = values[indices[i]]`, whole rows of a `[*, width]` matrix: the real tokens of a padded
 * batch gathered before their statistics are taken. One workgroup per row. Bindings: 0 `{count}`,
 * 1 indices (u32), 2 values, 3 output. Dispatch `rowWorkgroups(count)`.
 */
export function gatherRowsShader(width: number): string {
  return /* wgsl */ `
struct Rows {
  count: u32,
}
@group(0) @binding(0) var<uniform> rows: Rows;
@group(0) @binding(1) var<storage, read> indices: array<u32>;
@group(0) @binding(2) var<storage, read> values: array<f32>;
@group(0) @binding(3) var<storage, read_write> output: array<f32>;

@compute @workgroup_size(${THREADS})
fn main(@builtin(workgroup_id) group: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let row = group.y * ${ROWS_PER_DIMENSION}u + group.x;
  if (row >= rows.count) {
    return;
  }
  let source = indices[row] * ${width}u;
  for (var i = tid; i < ${width}u; i += ${THREADS}u) {
    output[row * ${width}u + i] = values[source + i];
  }
}
`;
}

/** Workgroups of `absMaxShader`: each reduces ABS_MAX_PER_WORKGROUP values at most. */
const ABS_MAX_PER_WORKGROUP = THREADS * 64;

export function absMaxWorkgroups(values: number): number {
  return Math.max(1, Math.ceil(values / ABS_MAX_PER_WORKGROUP));
}

/**
 * max |x| over `count` values from `first`, into `result[slot]` as float32 bits with an atomic max
 * (for |x| ≥ 0 the order of the bits is the order of the numbers, so the result is exact and
 * independent of the order of the workgroups; a NaN, whose bits sort above +∞, wins as it would in a
 * max that propagates NaN). Bindings: 0 `{first, count, slot}`, 1 values, 2 result (u32, zeroed
 * first). Dispatch `absMaxWorkgroups(count)`.
 */
export const ABS_MAX_SHADER = absMaxShader();

/**
 * ABS_MAX_SHADER over the rows of a `[rows, columns]` matrix whose `mask` word is not 0: the real
 * tokens of a run that holds padding, without gathering them first. Bindings: 0 `{first, count,
 * slot}`, 1 values, 2 result, 3 mask (u32 per row, counted from `first / columns`).
 */
export function maskedAbsMaxShader(columns: number): string {
  return absMaxShader(columns);
}

function absMaxShader(maskedColumns?: number): string {
  const masked = maskedColumns !== undefined;
  return /* wgsl */ `
struct Range {
  first: u32,
  count: u32,
  slot: u32,
}
@group(0) @binding(0) var<uniform> range: Range;
@group(0) @binding(1) var<storage, read> values: array<f32>;
@group(0) @binding(2) var<storage, read_write> result: array<atomic<u32>>;
${masked ? '@group(0) @binding(3) var<storage, read> mask: array<u32>;' : ''}

var<workgroup> partial: array<u32, ${THREADS}>;

@compute @workgroup_size(${THREADS})
fn main(@builtin(workgroup_id) group: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let start = group.x * ${ABS_MAX_PER_WORKGROUP}u;
  let end = min(range.count, start + ${ABS_MAX_PER_WORKGROUP}u);
  var highest = 0u;
  for (var i = start + tid; i < end; i += ${THREADS}u) {
    ${
      masked
        ? `if (mask[(range.first + i) / ${maskedColumns}u] != 0u) {
      highest = max(highest, bitcast<u32>(abs(values[range.first + i])));
    }`
        : 'highest = max(highest, bitcast<u32>(abs(values[range.first + i])));'
    }
  }
  partial[tid] = highest;
  workgroupBarrier();
  for (var stride = ${THREADS / 2}u; stride >= 1u; stride = stride / 2u) {
    if (tid < stride) {
      partial[tid] = max(partial[tid], partial[tid + stride]);
    }
    workgroupBarrier();
  }
  if (tid == 0u) {
    atomicMax(&result[range.slot], partial[0]);
  }
}
`;
}

/** Rows one thread of `columnPartialSumsShader` sums: partial sums of many chunks run in parallel. */
export const COLUMN_CHUNK_ROWS = 64;

/** Chunks of COLUMN_CHUNK_ROWS rows covering `rows`. */
export function columnChunks(rows: number): number {
  return Math.ceil(rows / COLUMN_CHUNK_ROWS);
}

/** Workgroups `[x, y]` of `columnPartialSumsShader` over a `[rows, width]` matrix. */
export function columnPartialSumsWorkgroups(width: number, rows: number): [number, number] {
  return [Math.ceil(width / THREADS), columnChunks(rows)];
}

/**
 * What `columnPartialSumsShader` sums per element of column `channel`: `|x|` (AWQ-lite's activation
 * statistic), or `|w| / (max |w| of its block + float32's smallest normal)` (its weight statistic,
 * with `blockMaxShader`'s maxima `[rows, blocks]`).
 */
export type ColumnTerm =
  | { readonly kind: 'abs' }
  | { readonly kind: 'abs-over-block-max'; readonly blockSize: number };

/**
 * Per column of `rows` rows from `first_row` of a `[*, width]` matrix, the sum of a term over each
 * chunk of COLUMN_CHUNK_ROWS rows, into `partial[chunk·width + channel]`; `columnMeanShader` adds the
 * chunks. Bindings: 0 `{first_row, rows}`, 1 values, 2 partial, 3 block maxima (`abs-over-block-max`).
 * Dispatch `columnPartialSumsWorkgroups`.
 */
export function columnPartialSumsShader(width: number, term: ColumnTerm): string {
  const element = `values[(range.first_row + row) * ${width}u + channel]`;
  const value =
    term.kind === 'abs'
      ? `abs(${element})`
      : `abs(${element}) / (maxima[(range.first_row + row) * ${Math.ceil(width / term.blockSize)}u + channel / ${term.blockSize}u] + 1.17549435e-38)`;
  return /* wgsl */ `
struct Range {
  first_row: u32,
  rows: u32,
}
@group(0) @binding(0) var<uniform> range: Range;
@group(0) @binding(1) var<storage, read> values: array<f32>;
@group(0) @binding(2) var<storage, read_write> partial: array<f32>;
${term.kind === 'abs' ? '' : '@group(0) @binding(3) var<storage, read> maxima: array<f32>;'}

@compute @workgroup_size(${THREADS})
fn main(@builtin(global_invocation_id) global: vec3<u32>) {
  let channel = global.x;
  let chunk = global.y;
  if (channel >= ${width}u) {
    return;
  }
  var sum = 0.0;
  for (var row = chunk * ${COLUMN_CHUNK_ROWS}u; row < min(range.rows, (chunk + 1u) * ${COLUMN_CHUNK_ROWS}u); row++) {
    sum += ${value};
  }
  partial[chunk * ${width}u + channel] = sum;
}
`;
}

/**
 * Per column, the chunks' partial sums added up and divided by `divisor`, into
 * `result[result_offset + channel]`: a column mean. Bindings: 0 `{chunks, result_offset, divisor}`,
 * 1 partial, 2 result. Dispatch `columnMeanWorkgroups(width)`.
 */
export function columnMeanShader(width: number): string {
  return /* wgsl */ `
struct Chunks {
  count: u32,
  result_offset: u32,
  divisor: f32,
}
@group(0) @binding(0) var<uniform> chunks: Chunks;
@group(0) @binding(1) var<storage, read> partial: array<f32>;
@group(0) @binding(2) var<storage, read_write> result: array<f32>;

@compute @workgroup_size(${THREADS})
fn main(@builtin(global_invocation_id) global: vec3<u32>) {
  let channel = global.x;
  if (channel >= ${width}u) {
    return;
  }
  var sum = 0.0;
  for (var chunk = 0u; chunk < chunks.count; chunk++) {
    sum += partial[chunk * ${width}u + channel];
  }
  result[chunks.result_offset + channel] = sum / chunks.divisor;
}
`;
}

export function columnMeanWorkgroups(width: number): number {
  return Math.ceil(width / THREADS);
}

export interface CandidateShape {
  readonly outFeatures: number;
  readonly inFeatures: number;
  readonly blockSize: number;
}

/** Workgroups of `candidateDifferenceShader` for `candidates` candidates. */
export function candidateDifferenceWorkgroups(shape: CandidateShape, candidates: number): number {
  return Math.ceil(
    (candidates * shape.outFeatures * Math.ceil(shape.inFeatures / shape.blockSize)) / THREADS,
  );
}

/**
 * The AWQ search's `D = Q(W·diag(s))·diag(1/s) − W` for a run of candidates, `[candidates, out, in]`,
 * with ModelOpt's int4 fake quantization per block of `blockSize` along `in` (the steps and their
 * order of `quantizedScaledWeight`: `w·s`, amax of the block, `scale = (1/amax)·7`, round half to
 * even, clamp to [−8, 7], divide back by the scale, 0 where amax is 0). One thread per (candidate,
 * row, block). W is `[out, in]`; `s` and `inverse_s` are `[candidates, in]`.
 * Bindings: 0 `{candidates}`, 1 weight, 2 s, 3 inverse_s, 4 difference.
 */
export function candidateDifferenceShader({ outFeatures, inFeatures, blockSize }: CandidateShape): string {
  const blocks = Math.ceil(inFeatures / blockSize);
  return /* wgsl */ `
struct Candidates {
  count: u32,
}
@group(0) @binding(0) var<uniform> candidates: Candidates;
@group(0) @binding(1) var<storage, read> weight: array<f32>;
@group(0) @binding(2) var<storage, read> s: array<f32>;
@group(0) @binding(3) var<storage, read> inverse_s: array<f32>;
@group(0) @binding(4) var<storage, read_write> difference: array<f32>;

@compute @workgroup_size(${THREADS})
fn main(@builtin(global_invocation_id) global: vec3<u32>) {
  let index = global.x;
  if (index >= candidates.count * ${outFeatures * blocks}u) {
    return;
  }
  let candidate = index / ${outFeatures * blocks}u;
  let row = (index / ${blocks}u) % ${outFeatures}u;
  let start = (index % ${blocks}u) * ${blockSize}u;
  let end = min(start + ${blockSize}u, ${inFeatures}u);
  var amax = 0.0;
  for (var i = start; i < end; i++) {
    amax = max(amax, abs(weight[row * ${inFeatures}u + i] * s[candidate * ${inFeatures}u + i]));
  }
  let scale = (1.0 / amax) * 7.0;
  for (var i = start; i < end; i++) {
    let w = weight[row * ${inFeatures}u + i];
    let code = clamp(round(w * s[candidate * ${inFeatures}u + i] * scale), -8.0, 7.0);
    let quantized = select(0.0, code / scale, amax > 0.0);
    difference[(candidate * ${outFeatures}u + row) * ${inFeatures}u + i] =
      quantized * inverse_s[candidate * ${inFeatures}u + i] - w;
  }
}
`;
}

/** Workgroups of `blockMaxShader`. */
export function blockMaxWorkgroups({ outFeatures, inFeatures, blockSize }: CandidateShape): number {
  return Math.ceil((outFeatures * Math.ceil(inFeatures / blockSize)) / THREADS);
}

/**
 * `weight[o, i] ·= scale[i]` in place for a weight `[out, in]`: AWQ's chosen scale applied where the
 * weight already is. A float32 product is correctly rounded, as the host's `Math.fround(w · s)` (a
 * device may flush a subnormal product to zero; a weight times its scale is far from that range).
 * One thread per element. Bindings: 0 weight, 1 scale.
 */
export function scaleColumnsShader({ outFeatures, inFeatures }: Omit<CandidateShape, 'blockSize'>): string {
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read_write> weight: array<f32>;
@group(0) @binding(1) var<storage, read> scale: array<f32>;

${elementMain(outFeatures * inFeatures, `weight[index] = weight[index] * scale[index % ${inFeatures}u];`)}
`;
}

/**
 * `output[c, r] = input[r, c]` of a `[rows, columns]` matrix: a Conv1D weight `[in, out]` as
 * `[out, in]`. One thread per element. Bindings: 0 input, 1 output.
 */
export function transposeShader({ rows, columns }: { rows: number; columns: number }): string {
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> input: array<f32>;
@group(0) @binding(1) var<storage, read_write> output: array<f32>;

${elementMain(
  rows * columns,
  `let row = index % ${rows}u;
  let column = index / ${rows}u;
  output[index] = input[row * ${columns}u + column];`,
)}
`;
}

/**
 * The entry point of a one-thread-per-element kernel over `count` elements: `body` runs with the
 * element's `index` (workgroups along y as well past the per-dimension limit; see `elementWorkgroups`).
 */
function elementMain(count: number, body: string): string {
  return `@compute @workgroup_size(${THREADS})
fn main(@builtin(global_invocation_id) global: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let index = global.y * groups.x * ${THREADS}u + global.x;
  if (index >= ${count}u) {
    return;
  }
  ${body}
}`;
}

/**
 * Workgroups `[x, y]` of a one-thread-per-element kernel over `count` elements
 * (`scaleColumnsShader`, `transposeShader`), within the adapter's `limit` per dimension.
 */
export function elementWorkgroups(count: number, limit: number): [number, number] {
  const groups = Math.ceil(count / THREADS);
  const rows = Math.ceil(groups / limit);
  return [Math.ceil(groups / rows), rows];
}

/**
 * max |w| of every block of `blockSize` along `in` of a weight `[out, in]`, into `[out, blocks]`: the
 * first step of AWQ-lite's weight statistic. One thread per (row, block). Bindings: 0 weight, 1 maxima.
 */
export function blockMaxShader({ outFeatures, inFeatures, blockSize }: CandidateShape): string {
  const blocks = Math.ceil(inFeatures / blockSize);
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> weight: array<f32>;
@group(0) @binding(1) var<storage, read_write> maxima: array<f32>;

@compute @workgroup_size(${THREADS})
fn main(@builtin(global_invocation_id) global: vec3<u32>) {
  let index = global.x;
  if (index >= ${outFeatures * blocks}u) {
    return;
  }
  let row = index / ${blocks}u;
  let start = (index % ${blocks}u) * ${blockSize}u;
  var highest = 0.0;
  for (var i = start; i < min(start + ${blockSize}u, ${inFeatures}u); i++) {
    highest = max(highest, abs(weight[row * ${inFeatures}u + i]));
  }
  maxima[index] = highest;
}
`;
}

/**
 * Per row, `Σ_i left[row, i]·right[row, i]` of two `[rows, width]` matrices: the search's
 * `D[o]·H·D[o]ᵀ` from `E = D·H` and D, into `sums[first + row]`. One workgroup per row. Bindings:
 * 0 `{count, first}`, 1 left, 2 right, 3 sums. Dispatch `rowWorkgroups(rows)`.
 */
export function rowDotShader(width: number): string {
  return /* wgsl */ `
struct Rows {
  count: u32,
  first: u32,
}
@group(0) @binding(0) var<uniform> rows: Rows;
@group(0) @binding(1) var<storage, read> left: array<f32>;
@group(0) @binding(2) var<storage, read> right: array<f32>;
@group(0) @binding(3) var<storage, read_write> sums: array<f32>;

${SUM_MEMORY}

@compute @workgroup_size(${THREADS})
fn main(@builtin(workgroup_id) group: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  ${rowStart(width)}
  var local_sum = 0.0;
  for (var i = tid; i < ${width}u; i += ${THREADS}u) {
    local_sum += left[base + i] * right[base + i];
  }
  partial[tid] = local_sum;
  ${workgroupSum('total')}
  if (inside && tid == 0u) {
    sums[rows.first + row] = total;
  }
}
`;
}
