import { FLOAT8_WGSL } from './float8-wgsl';

/** How a linear's weight is stored on the device. */
/**
 * `float16`: a float16 model's weights kept as float16 pairs in 32-bit words (unpacked with WGSL's
 * core `unpack2x16float`, so no `shader-f16` is needed), half the bytes a step reads.
 */
export type KernelWeightKind = 'float32' | 'float16' | 'int8' | 'int4' | 'float8';

/** Threads per workgroup: within compatibility mode's default limit of 128. */
export const LINEAR_THREADS = 128;
/** Most output channels per workgroup: the input is loaded (and normalized) once for all of them. */
export const LINEAR_ROWS = 8;
/** Workgroups a decode linear should have at least: a few per streaming multiprocessor of a large GPU. */
const LINEAR_MIN_WORKGROUPS = 512;

/**
 * Output channels per workgroup of a decode linear: the most (up to LINEAR_ROWS, halving) that
 * still leaves LINEAR_MIN_WORKGROUPS workgroups, since a step's linears read their weights once and
 * too few workgroups leave most of the GPU idle (768 outputs: 1; 2304 and 3072: 4; a 50257 head: 8).
 */
export function linearRowsPerWorkgroup(outFeatures: number): number {
  let rows = LINEAR_ROWS;
  while (rows > 1 && Math.ceil(outFeatures / rows) < LINEAR_MIN_WORKGROUPS) rows /= 2;
  return rows;
}
/** int4 codes per block of scales (ModelOpt's blocks of 128 along `in`). */
const INT4_BLOCK = 128;

export interface LinearShaderOptions {
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly weight: KernelWeightKind;
  /** Normalize the input first (LayerNorm with `gamma`, `beta` and the uniform's epsilon). */
  readonly layerNorm: boolean;
  /** Multiply the (normalized) input by an AWQ `pre_quant_scale`. */
  readonly preScale: boolean;
  /** Fake-quantize the input to float8 with the uniform's input scale (left on the e4m3 grid). */
  readonly float8Input: boolean;
  /** `'gelu'`: GPT-2's tanh GELU of the output; `'residual'`: add the output into `output`. */
  readonly epilogue: 'none' | 'gelu' | 'residual';
  /**
   * Output channels per workgroup (default LINEAR_ROWS). Each output's sum runs in the same order
   * whatever this is (per-thread strided sums, then the tree over threads), so outputs are identical.
   */
  readonly rows?: number;
}

/** 32-bit words per weight row: codes are packed little-endian, 4 (8-bit) or 8 (4-bit) a word. */
export function wordsPerRow(weight: KernelWeightKind, inFeatures: number): number {
  switch (weight) {
    case 'float32':
      return inFeatures;
    case 'float16':
      return Math.ceil(inFeatures / 2);
    case 'int4':
      return Math.ceil(inFeatures / 8);
    default:
      return Math.ceil(inFeatures / 4);
  }
}

function paddedInput(options: LinearShaderOptions): number {
  const rows = options.rows ?? LINEAR_ROWS;
  return linearWorkgroupBytes(options.weight, options.inFeatures, rows) / 4 - rows * LINEAR_THREADS - 1;
}

function productLoop(options: LinearShaderOptions): string {
  const words = wordsPerRow(options.weight, options.inFeatures);
  const rows = `for (var r = 0u; r < ${options.rows ?? LINEAR_ROWS}u; r++) {
      let row = min(first + r, ${options.outFeatures - 1}u);`;
  switch (options.weight) {
    case 'float32':
      return `for (var i = tid; i < ${words}u; i += ${LINEAR_THREADS}u) {
    let x = xs[i];
    ${rows}
      sums[r] += weight[row * ${words}u + i] * x;
    }
  }`;
    case 'float16':
      return `for (var w = tid; w < ${words}u; w += ${LINEAR_THREADS}u) {
    let x = vec2<f32>(xs[2u * w], xs[2u * w + 1u]);
    ${rows}
      sums[r] += dot(unpack2x16float(weight[row * ${words}u + w]), x);
    }
  }`;
    case 'int8':
      return `for (var w = tid; w < ${words}u; w += ${LINEAR_THREADS}u) {
    let x = vec4<f32>(xs[4u * w], xs[4u * w + 1u], xs[4u * w + 2u], xs[4u * w + 3u]);
    ${rows}
      let word = bitcast<i32>(weight[row * ${words}u + w]);
      let codes = vec4<f32>(f32(extractBits(word, 0u, 8u)), f32(extractBits(word, 8u, 8u)),
                            f32(extractBits(word, 16u, 8u)), f32(extractBits(word, 24u, 8u)));
      sums[r] += dot(codes, x);
    }
  }`;
    case 'int4': {
      const blocks = Math.ceil(options.inFeatures / INT4_BLOCK);
      return `for (var w = tid; w < ${words}u; w += ${LINEAR_THREADS}u) {
    let low = vec4<f32>(xs[8u * w], xs[8u * w + 1u], xs[8u * w + 2u], xs[8u * w + 3u]);
    let high = vec4<f32>(xs[8u * w + 4u], xs[8u * w + 5u], xs[8u * w + 6u], xs[8u * w + 7u]);
    ${rows}
      let word = bitcast<i32>(weight[row * ${words}u + w]);
      let first_codes = vec4<f32>(f32(extractBits(word, 0u, 4u)), f32(extractBits(word, 4u, 4u)),
                                  f32(extractBits(word, 8u, 4u)), f32(extractBits(word, 12u, 4u)));
      let second_codes = vec4<f32>(f32(extractBits(word, 16u, 4u)), f32(extractBits(word, 20u, 4u)),
                                   f32(extractBits(word, 24u, 4u)), f32(extractBits(word, 28u, 4u)));
      sums[r] += scales[row * ${blocks}u + w / ${INT4_BLOCK / 8}u] * (dot(first_codes, low) + dot(second_codes, high));
    }
  }`;
    }
    case 'float8':
      return `for (var w = tid; w < ${words}u; w += ${LINEAR_THREADS}u) {
    let x = vec4<f32>(xs[4u * w], xs[4u * w + 1u], xs[4u * w + 2u], xs[4u * w + 3u]);
    ${rows}
      let word = weight[row * ${words}u + w];
      let values = vec4<f32>(float8_decode(word & 0xffu), float8_decode((word >> 8u) & 0xffu),
                             float8_decode((word >> 16u) & 0xffu), float8_decode(word >> 24u));
      sums[r] += dot(values, x);
    }
  }`;
  }
}

/**
 * The factor output channel `channel` (a WGSL expression) is multiplied by after its sum: the int8
 * per-channel scale, float8's `weight_scale · input_scale`, else 1. Shared by the decode and prompt kernels.
 */
export function outputFactor(weight: KernelWeightKind, channel: string): string {
  switch (weight) {
    case 'int8':
      return `scales[${channel}]`;
    case 'float8':
      return 'parameters.weight_factor';
    default:
      return '1.0';
  }
}

/**
 * The WGSL statements that store `value` at `output[target]`: GPT-2's tanh GELU of it, added to
 * what is there (the residual), or as it is. Shared by the decode and prompt kernels.
 */
export function storeOutput(epilogue: LinearShaderOptions['epilogue'], target: string): string {
  switch (epilogue) {
    case 'gelu':
      return `let cubic = value + 0.044715 * value * value * value;
    // tanh saturates long before ±10; clamping keeps a tanh built on exp from overflowing.
    output[${target}] = 0.5 * value * (1.0 + tanh(clamp(0.7978845608028654 * cubic, -10.0, 10.0)));`;
    case 'residual':
      return `output[${target}] = output[${target}] + value;`;
    default:
      return `output[${target}] = value;`;
  }
}

/**
 * One fused linear for a single row: optional LayerNorm of the input, AWQ pre-quant scale and float8
 * input fake quantization, the product with the stored weight (float32, int8 per-channel, int4
 * blocks of 128 or float8 codes, decoded in the kernel), the bias, then GELU or a residual add.
 * Each workgroup loads the input once into workgroup memory and computes `rows` outputs.
 */
export function linearShader(options: LinearShaderOptions): string {
  const { inFeatures } = options;
  const rows = options.rows ?? LINEAR_ROWS;
  const padded = paddedInput(options);
  const weightType = options.weight === 'float32' ? 'f32' : 'u32';
  const extraBindings: string[] = [];
  if (options.layerNorm) {
    extraBindings.push('@group(0) @binding(6) var<storage, read> gamma: array<f32>;');
    extraBindings.push('@group(0) @binding(7) var<storage, read> beta: array<f32>;');
  }
  if (options.preScale) {
    extraBindings.push('@group(0) @binding(8) var<storage, read> pre_scale: array<f32>;');
  }
  const load = options.layerNorm
    ? `${layerNormStatistics(inFeatures, 'input_base')}
  for (var i = tid; i < ${padded}u; i += ${LINEAR_THREADS}u) {
    var x = 0.0;
    if (i < ${inFeatures}u) {
      x = (input[input_base + i] - mean) * inverse_deviation * gamma[i] + beta[i];
      ${transformInput(options)}
    }
    xs[i] = x;
  }`
    : `for (var i = tid; i < ${padded}u; i += ${LINEAR_THREADS}u) {
    var x = 0.0;
    if (i < ${inFeatures}u) {
      x = input[input_base + i];
      ${transformInput(options)}
    }
    xs[i] = x;
  }`;
  return /* wgsl */ `
${options.weight === 'float8' ? FLOAT8_WGSL : ''}
${options.float8Input && options.weight !== 'float8' ? FLOAT8_WGSL : ''}
struct Parameters {
  epsilon: f32,
  input_scale: f32,
  weight_factor: f32,
  unused: f32,
}

@group(0) @binding(0) var<uniform> parameters: Parameters;
@group(0) @binding(1) var<storage, read> input: array<f32>;
@group(0) @binding(2) var<storage, read> weight: array<${weightType}>;
@group(0) @binding(3) var<storage, read> scales: array<f32>;
@group(0) @binding(4) var<storage, read> bias: array<f32>;
@group(0) @binding(5) var<storage, read_write> output: array<f32>;
${extraBindings.join('\n')}

var<workgroup> xs: array<f32, ${padded}>;
var<workgroup> partial: array<f32, ${rows * LINEAR_THREADS}>;
var<workgroup> statistic: f32;


@compute @workgroup_size(${LINEAR_THREADS})
fn main(@builtin(workgroup_id) group: vec3<u32>, @builtin(local_invocation_id) local: vec3<u32>) {
  let tid = local.x;
  let first = group.x * ${rows}u;
  // Prompt rows: the second workgroup dimension picks the token row.
  let input_base = group.y * ${inFeatures}u;
  let output_base = group.y * ${options.outFeatures}u;
  // Every binding is used, so the automatic layout holds all of them whatever the options.
  _ = parameters.unused;
  _ = scales[0];
  ${load}
  workgroupBarrier();
  var sums: array<f32, ${rows}>;
  ${productLoop(options)}
  for (var r = 0u; r < ${rows}u; r++) {
    partial[r * ${LINEAR_THREADS}u + tid] = sums[r];
  }
  workgroupBarrier();
  ${reductionStrides(LINEAR_THREADS)
    .map(
      (stride) => `if (tid < ${stride}u) {
    for (var r = 0u; r < ${rows}u; r++) {
      partial[r * ${LINEAR_THREADS}u + tid] += partial[r * ${LINEAR_THREADS}u + tid + ${stride}u];
    }
  }
  workgroupBarrier();`,
    )
    .join('\n  ')}
  if (tid < ${rows}u && first + tid < ${options.outFeatures}u) {
    let row = first + tid;
    let value = partial[tid * ${LINEAR_THREADS}u] * ${outputFactor(options.weight, 'row')} + bias[row];
    ${storeOutput(options.epilogue, 'output_base + row')}
  }
}
`;
}

/** The halving strides of a tree reduction over the workgroup, largest first. */
export function reductionStrides(threads: number): number[] {
  const strides: number[] = [];
  for (let stride = threads / 2; stride >= 1; stride /= 2) strides.push(stride);
  return strides;
}

/**
 * Sums `value` over the workgroup into `let result`, the tree reduction unrolled. Thread 0 hands
 * the sum on through a scalar workgroup variable: every thread loading `partial[0]` itself read a
 * stale value on Mesa's llvmpipe (OpenGL ES backend). The prompt kernels' input pass uses it too,
 * so both see the same statistics bit for bit.
 */
export function reduceSum(value: string, result: string): string {
  const steps = reductionStrides(LINEAR_THREADS).map(
    (stride) => `if (tid < ${stride}u) {
    partial[tid] += partial[tid + ${stride}u];
  }
  workgroupBarrier();`,
  );
  return `partial[tid] = ${value};
  workgroupBarrier();
  ${steps.join('\n  ')}
  if (tid == 0u) {
    statistic = partial[0];
  }
  let ${result} = workgroupUniformLoad(&statistic);`;
}

/**
 * WGSL giving `let mean` and `let inverse_deviation` (1 / √(variance + the uniform's epsilon)) of
 * `input[base…base + inFeatures]`, over the workgroup's LINEAR_THREADS threads: one code for the decode
 * linears and the prompt kernels' input pass, so both normalize bit for bit alike.
 */
export function layerNormStatistics(inFeatures: number, base: string): string {
  return `var local_sum = 0.0;
  for (var i = tid; i < ${inFeatures}u; i += ${LINEAR_THREADS}u) {
    local_sum += input[${base} + i];
  }
  ${reduceSum('local_sum', 'total')}
  let mean = total / ${inFeatures}.0;
  var local_squares = 0.0;
  for (var i = tid; i < ${inFeatures}u; i += ${LINEAR_THREADS}u) {
    let centered = input[${base} + i] - mean;
    local_squares += centered * centered;
  }
  ${reduceSum('local_squares', 'squares')}
  let inverse_deviation = 1.0 / sqrt(squares / ${inFeatures}.0 + parameters.epsilon);`;
}

function transformInput(options: LinearShaderOptions): string {
  const steps: string[] = [];
  if (options.preScale) steps.push('x = x * pre_scale[i];');
  if (options.float8Input) steps.push('x = float8_fake_quant(x, parameters.input_scale);');
  return steps.join('\n      ');
}

/** Workgroup memory of one linear's kernel: the padded input, the partial sums and one scalar. */
export function linearWorkgroupBytes(
  weight: KernelWeightKind,
  inFeatures: number,
  rows = LINEAR_ROWS,
): number {
  const perWord = { float32: 1, float16: 2, int8: 4, int4: 8, float8: 4 }[weight];
  return 4 * (wordsPerRow(weight, inFeatures) * perWord + rows * LINEAR_THREADS + 1);
}

/** Workgroups for one linear's outputs at `rows` outputs per workgroup. */
export function linearWorkgroups(outFeatures: number, rows = LINEAR_ROWS): number {
  return Math.ceil(outFeatures / rows);
}
