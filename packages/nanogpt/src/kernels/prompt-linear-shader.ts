import { FLOAT8_WGSL } from './float8-wgsl';
import {
  type KernelWeightKind,
  layerNormStatistics,
  outputFactor,
  storeOutput,
  wordsPerRow,
} from './linear-shader';

/**
 * The linears of a prompt's rows as tiled matrix products: each workgroup computes
 * `PROMPT_TILE_ROWS` token rows × `PROMPT_TILE_COLUMNS` output channels from workgroup-memory tiles
 * of the input and of the decoded weight, so a weight is read once per tile of rows instead of once
 * per row. What the decode linear (`linear-shader.ts`) does before the product — LayerNorm, AWQ
 * pre-quant scale, float8 input fake quantization — runs first in `promptInputShader`, one
 * workgroup per row with the decode kernel's own reduction order, so every row's product sees the
 * same inputs as a decode step would.
 */

/** Threads per workgroup: compatibility mode's maxComputeInvocationsPerWorkgroup. */
const THREADS = 128;
/** Token rows per tile. */
export const PROMPT_TILE_ROWS = 32;
/** Output channels per tile. */
export const PROMPT_TILE_COLUMNS = 64;
/** Input features per step of the product (a multiple of 8, so int4 words never straddle a step). */
const TILE_DEPTH = 32;
/**
 * Row strides of the workgroup tiles, one word longer than a row: threads that store or load a
 * column of a tile then touch different memory banks instead of one.
 */
const INPUT_STRIDE = TILE_DEPTH + 1;
const WEIGHT_STRIDE = PROMPT_TILE_COLUMNS + 1;
/** Each thread's outputs: `ROWS_PER_THREAD` rows × `COLUMNS_PER_THREAD` channels, strided over the tile. */
const ROWS_PER_THREAD = 4;
const COLUMNS_PER_THREAD = 4;
const THREAD_COLUMNS = PROMPT_TILE_COLUMNS / COLUMNS_PER_THREAD;
const THREAD_ROWS = PROMPT_TILE_ROWS / ROWS_PER_THREAD;
/** int4 codes per block of scales (ModelOpt's blocks of 128 along `in`). */
const INT4_BLOCK = 128;

export interface PromptInputShaderOptions {
  readonly inFeatures: number;
  readonly layerNorm: boolean;
  readonly preScale: boolean;
  readonly float8Input: boolean;
}

/** Whether a linear's input needs `promptInputShader` before its product. */
export function needsPromptInput(options: Omit<PromptInputShaderOptions, 'inFeatures'>): boolean {
  return options.layerNorm || options.preScale || options.float8Input;
}

const PARAMETERS = `struct Parameters {
  epsilon: f32,
  input_scale: f32,
  weight_factor: f32,
  unused: f32,
}
@group(0) @binding(0) var<uniform> parameters: Parameters;`;

/**
 * `x'[row] = fake8(LayerNorm(x[row]) · pre_scale)` with whichever steps the linear has, one
 * workgroup per row (workgroup dimension y), computed exactly as the decode linear loads its input:
 * the same strided sums and unrolled tree reductions for the mean and the deviation.
 * Bindings: 0 parameters, 1 input, 2 output, 3 gamma, 4 beta (LayerNorm), 5 pre_scale.
 */
export function promptInputShader(options: PromptInputShaderOptions): string {
  const { inFeatures } = options;
  const bindings: string[] = [];
  if (options.layerNorm) {
    bindings.push('@group(0) @binding(3) var<storage, read> gamma: array<f32>;');
    bindings.push('@group(0) @binding(4) var<storage, read> beta: array<f32>;');
  }
  if (options.preScale) bindings.push('@group(0) @binding(5) var<storage, read> pre_scale: array<f32>;');
  const transform: string[] = [];
  if (options.preScale) transform.push('x = x * pre_scale[i];');
  if (options.float8Input) transform.push('x = float8_fake_quant(x, parameters.input_scale);');
  const statistics = options.layerNorm ? layerNormStatistics(inFeatures, 'base') : '';
  const value = options.layerNorm
    ? '(input[base + i] - mean) * inverse_deviation * gamma[i] + beta[i]'
    : 'input[base + i]';
  return /* wgsl */ `
${options.float8Input ? FLOAT8_WGSL : ''}
${PARAMETERS}
@group(0) @binding(1) var<storage, read> input: array<f32>;
@group(0) @binding(2) var<storage, read_write> output: array<f32>;
${bindings.join('\n')}

var<workgroup> partial: array<f32, ${THREADS}>;
var<workgroup> statistic: f32;

@compute @workgroup_size(${THREADS})
fn main(@builtin(workgroup_id) group: vec3<u32>, @builtin(local_invocation_id) local: vec3<u32>) {
  let tid = local.x;
  let base = group.y * ${inFeatures}u;
  // Every binding is used, so the automatic layout holds all of them whatever the options.
  _ = parameters.unused;
  ${statistics}
  for (var i = tid; i < ${inFeatures}u; i += ${THREADS}u) {
    var x = ${value};
    ${transform.join('\n    ')}
    output[base + i] = x;
  }
}
`;
}

export interface PromptLinearShaderOptions {
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly weight: KernelWeightKind;
  /** `'gelu'`: GPT-2's tanh GELU of the output; `'residual'`: add the output into `output`. */
  readonly epilogue: 'none' | 'gelu' | 'residual';
}

/**
 * Fills `tile_weight[k][n]` (decoded, int4 block scale applied) for channels `first_column…` and
 * inputs `k0…`; float16 pairs are unpacked with WGSL's core `unpack2x16float`, as the decode kernel.
 */
function weightTile(options: PromptLinearShaderOptions): string {
  const { inFeatures, outFeatures } = options;
  const words = wordsPerRow(options.weight, inFeatures);
  const store = (code: string, depth: string) => `tile_weight[(${depth}) * ${WEIGHT_STRIDE}u + n] = ${code};`;
  if (options.weight === 'float32') {
    return `for (var e = tid; e < ${PROMPT_TILE_COLUMNS * TILE_DEPTH}u; e += ${THREADS}u) {
      let n = e / ${TILE_DEPTH}u;
      let k = e % ${TILE_DEPTH}u;
      let column = first_column + n;
      var value = 0.0;
      if (column < ${outFeatures}u && k0 + k < ${inFeatures}u) {
        value = weight[column * ${inFeatures}u + k0 + k];
      }
      ${store('value', 'k')}
    }`;
  }
  const kind = options.weight;
  const perWord = { float16: 2, int8: 4, int4: 8, float8: 4 }[kind];
  const bits = 32 / perWord;
  const wordsPerStep = TILE_DEPTH / perWord;
  const decode = (q: number) => {
    switch (kind) {
      case 'float16':
        return `unpack2x16float(word)[${q}]`;
      case 'int4':
        return `scale * f32(extractBits(signed, ${bits * q}u, ${bits}u))`;
      case 'int8':
        return `f32(extractBits(signed, ${bits * q}u, ${bits}u))`;
      case 'float8':
        return `float8_decode(${q === 0 ? 'word & 0xffu' : q === 3 ? 'word >> 24u' : `(word >> ${8 * q}u) & 0xffu`})`;
    }
  };
  const scale =
    options.weight === 'int4'
      ? `scale = scales[column * ${Math.ceil(inFeatures / INT4_BLOCK)}u + (k0 + ${perWord}u * w) / ${INT4_BLOCK}u];`
      : '';
  const lanes = Array.from({ length: perWord }, (_, q) =>
    store(`select(0.0, ${decode(q)}, inside)`, `${perWord}u * w + ${q}u`),
  );
  return `for (var e = tid; e < ${PROMPT_TILE_COLUMNS * wordsPerStep}u; e += ${THREADS}u) {
      let n = e / ${wordsPerStep}u;
      let w = e % ${wordsPerStep}u;
      let column = first_column + n;
      let inside = column < ${outFeatures}u && k0 / ${perWord}u + w < ${words}u;
      var word = 0u;
      var scale = 0.0;
      if (inside) {
        word = weight[column * ${words}u + k0 / ${perWord}u + w];
        ${scale}
      }
      let signed = bitcast<i32>(word);
      _ = signed;
      _ = scale;
      ${lanes.join('\n      ')}
    }`;
}

/**
 * `output[row] = epilogue(input[first_row + row] · decode(weight)ᵀ · factor + bias)` for
 * `prompt.rows` rows from the uniform (`first_row` lets the head run a long prompt in parts), tiled: workgroup (x, y) computes channels
 * `x·PROMPT_TILE_COLUMNS…` of rows `y·PROMPT_TILE_ROWS…`. The input is already transformed
 * (`promptInputShader`) where the linear needs it. Decoding as the decode linear: int8 codes with
 * the row's scale applied after the sum, int4 codes times their block's scale, float8 codes with
 * `weight_scale · input_scale` after the sum.
 * Bindings: 0 parameters, 1 input, 2 weight, 3 scales, 4 bias, 5 output, 6 prompt.
 */
export function promptLinearShader(options: PromptLinearShaderOptions): string {
  const { inFeatures, outFeatures } = options;
  const weightType = options.weight === 'float32' ? 'f32' : 'u32';
  const products: string[] = [];
  for (let i = 0; i < ROWS_PER_THREAD; i += 1) {
    products.push(`let a${i} = tile_input[(thread_row + ${i * THREAD_ROWS}u) * ${INPUT_STRIDE}u + k];`);
  }
  for (let j = 0; j < COLUMNS_PER_THREAD; j += 1) {
    products.push(`let b${j} = tile_weight[k * ${WEIGHT_STRIDE}u + thread_column + ${j * THREAD_COLUMNS}u];`);
  }
  for (let i = 0; i < ROWS_PER_THREAD; i += 1) {
    for (let j = 0; j < COLUMNS_PER_THREAD; j += 1) {
      products.push(`sums[${i * COLUMNS_PER_THREAD + j}] += a${i} * b${j};`);
    }
  }
  return /* wgsl */ `
${options.weight === 'float8' ? FLOAT8_WGSL : ''}
${PARAMETERS}
struct Prompt {
  base: u32,
  rows: u32,
  first_row: u32,
}
@group(0) @binding(1) var<storage, read> input: array<f32>;
@group(0) @binding(2) var<storage, read> weight: array<${weightType}>;
@group(0) @binding(3) var<storage, read> scales: array<f32>;
@group(0) @binding(4) var<storage, read> bias: array<f32>;
@group(0) @binding(5) var<storage, read_write> output: array<f32>;
@group(0) @binding(6) var<uniform> prompt: Prompt;

var<workgroup> tile_input: array<f32, ${PROMPT_TILE_ROWS * INPUT_STRIDE}>;
var<workgroup> tile_weight: array<f32, ${TILE_DEPTH * WEIGHT_STRIDE}>;

@compute @workgroup_size(${THREADS})
fn main(@builtin(workgroup_id) group: vec3<u32>, @builtin(local_invocation_id) local: vec3<u32>) {
  let tid = local.x;
  let thread_column = tid % ${THREAD_COLUMNS}u;
  let thread_row = tid / ${THREAD_COLUMNS}u;
  let first_row = group.y * ${PROMPT_TILE_ROWS}u;
  let first_column = group.x * ${PROMPT_TILE_COLUMNS}u;
  let rows = prompt.rows;
  // Every binding is used, so the automatic layout holds all of them whatever the options.
  _ = parameters.unused;
  _ = scales[0];
  var sums: array<f32, ${ROWS_PER_THREAD * COLUMNS_PER_THREAD}>;
  for (var k0 = 0u; k0 < ${inFeatures}u; k0 += ${TILE_DEPTH}u) {
    for (var e = tid; e < ${PROMPT_TILE_ROWS * TILE_DEPTH}u; e += ${THREADS}u) {
      let r = e / ${TILE_DEPTH}u;
      let row = first_row + r;
      let k = k0 + e % ${TILE_DEPTH}u;
      var x = 0.0;
      if (row < rows && k < ${inFeatures}u) {
        x = input[(prompt.first_row + row) * ${inFeatures}u + k];
      }
      tile_input[r * ${INPUT_STRIDE}u + e % ${TILE_DEPTH}u] = x;
    }
    ${weightTile(options)}
    workgroupBarrier();
    for (var k = 0u; k < ${TILE_DEPTH}u; k++) {
      ${products.join('\n      ')}
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < ${ROWS_PER_THREAD}u; i++) {
    let row = first_row + thread_row + i * ${THREAD_ROWS}u;
    for (var j = 0u; j < ${COLUMNS_PER_THREAD}u; j++) {
      let column = first_column + thread_column + j * ${THREAD_COLUMNS}u;
      if (row < rows && column < ${outFeatures}u) {
        let value = sums[i * ${COLUMNS_PER_THREAD}u + j] * ${outputFactor(options.weight, 'column')} + bias[column];
        let index = row * ${outFeatures}u + column;
        ${storeOutput(options.epilogue, 'index')}
      }
    }
  }
}
`;
}

/** Workgroup memory of the tiled product: the input tile and the decoded weight tile. */
export const PROMPT_LINEAR_WORKGROUP_BYTES =
  4 * (PROMPT_TILE_ROWS * INPUT_STRIDE + TILE_DEPTH * WEIGHT_STRIDE);

/** Workgroups along x (output channels); along y it is `ceil(rows / PROMPT_TILE_ROWS)`. */
export function promptLinearWorkgroups(outFeatures: number): number {
  return Math.ceil(outFeatures / PROMPT_TILE_COLUMNS);
}
