import { InvalidArgumentError } from '@ptq/errors';
import { appendFloat8FakeQuant, type Value } from '@ptq/onnx-format';
import { type QuantLayout, quantize } from '@ptq/scale-math';
import {
  createTensor,
  float8E4M3FNBitsToFloat32,
  type MatrixStorage,
  packInt4,
  type Tensor,
  toFloat32,
  transposeMatrix,
} from '@ptq/tensor';
import type { Linear } from '../modules/linear';
import { floatTensor, type GraphContext, ONNX_FLOAT, ONNX_INT32 } from './graph-context';
import { packMatMulNBits } from './matmul-nbits';
import type { WeightFormat } from './weight-format';

/** MatMulNBits block length for int8 weights: per-channel scales are repeated over the blocks of a row. */
const INT8_MATMUL_NBITS_BLOCK = 128;

/** Inner dimensions from this length up are split (see `innerSplitParts`). */
const SPLIT_MINIMUM_INNER = 2048;
/** The inner length each part of a split product aims at. */
const SPLIT_PART_LENGTH = 384;

/**
 * How many parts to split a float linear's inner dimension into, for a fused graph; 1 for none.
 *
 * onnxruntime's WebGPU `MatMul` gives one workgroup 32 output columns of a one-row product and
 * walks the whole inner dimension in it, so a long, narrow product keeps few workgroups busy for
 * long: GPT-2's `mlp.c_proj`, `[1, 3072] × [3072, 768]`, takes 91 µs of GPU time in float16 on an
 * H100, against 22 µs for `768 → 768`. As 8 batched products of 384 summed by a second `MatMul`
 * with a row of ones it takes 31 µs (`bench/linear-kernels.ts`). Products whose inner dimension is
 * short or not longer than twice the output gain less than the extra kernel costs, so they are
 * left whole; parts are a power of two that divides the inner dimension, each about 384 long.
 */
export function innerSplitParts(inFeatures: number, outFeatures: number): number {
  if (inFeatures < SPLIT_MINIMUM_INNER || inFeatures < 2 * outFeatures) return 1;
  let parts = 2 ** Math.floor(Math.log2(inFeatures / SPLIT_PART_LENGTH));
  while (parts > 1 && inFeatures % parts !== 0) parts /= 2;
  return parts;
}

export interface AppendLinearOptions {
  /** How quantized weights are stored (required for quantized linears). */
  readonly weightFormat: WeightFormat | undefined;
  /** Multiply the input by `pre_quant_scale` here; false when it was folded into the preceding LayerNorm. */
  readonly applyPreQuantScale: boolean;
  /** The weight already lives in the graph as `[out, in]` (a tied embedding): read it with `Gemm transB`. */
  readonly sharedWeight?: Value | undefined;
  /**
   * How the bias joins (default `'add'`, an `Add` after the product). `'fused'` gives it to the
   * product's own op (MatMulNBits' bias input, or `Gemm`, so `x` must be 2-D `[tokens, in]`);
   * `'omit'` leaves it out for the caller to fuse into the next op.
   */
  readonly bias?: 'add' | 'fused' | 'omit';
  /**
   * Multiplies output channel `o` by `outputScale[o]`, folded into the weight (or its per-channel or
   * per-block scales, the codes unchanged) and the bias; only where `canFoldOutputScale` holds.
   */
  readonly outputScale?: Float32Array | undefined;
  /**
   * Computes a float (or float8) weight's product as this many batched products over equal parts of
   * the inner dimension, summed by a `MatMul` with a row of ones (see `innerSplitParts`); the weight
   * is stored `[parts, in / parts, out]`. Needs a 2-D input `[tokens, in]` and a bias other than
   * `'fused'`. Integer weights ignore it: their MatMulNBits kernel splits the inner dimension itself.
   */
  readonly splitInner?: number | undefined;
  /**
   * float8 inputs: leave the fake-quantized input on the e4m3 grid and fold `input_scale` into the
   * weight's scale (the lookup table or the DequantizeLinear scale), one `Mul` fewer per linear.
   * The products differ from multiplying by the scale first only by float rounding.
   */
  readonly foldInputScale?: boolean | undefined;
}

/**
 * Whether an output scale folds into the linear exactly: float weights, and codes whose scales are
 * per output channel or per block of one (int8 per-channel, int4 blocks). A per-tensor scale
 * (float8, int8 per-tensor) cannot take a per-channel factor.
 */
export function canFoldOutputScale(linear: Linear): boolean {
  if (linear.quantDtype === undefined) return true;
  const layout = scaleLayoutOf(linear);
  return layout.kind === 'block' || layout.kind === 'per-channel';
}

/** `values` with row `r` of a row-major `[rows, columns]` matrix multiplied by `factors[r]`. */
function scaleRows(values: Float32Array, factors: Float32Array, columns: number): Float32Array {
  return values.map((value, index) => value * factors[Math.floor(index / columns)]!);
}

function firstValue(tensor: Tensor): number {
  return toFloat32(tensor)[0]!;
}

/** How a linear's `weight_scale` covers its `[out, in]` weight, in @ptq/scale-math's terms. */
function scaleLayoutOf(linear: Linear): QuantLayout {
  if (linear.quantDtype === 'int4') return { kind: 'block', blockSize: linear.blockSize! };
  return linear.weightQuantDim === 0 ? { kind: 'per-channel', axis: 0 } : { kind: 'per-tensor' };
}

/**
 * Appends `y = x · Wᵀ + b` for one linear, with its AWQ pre-quant scale, its float8 input fake
 * quantization and its weight in the chosen format. `x` has the model dtype and shape `[..., in]`.
 */
export function appendLinear(
  context: GraphContext,
  path: string,
  linear: Linear,
  x: Value,
  options: AppendLinearOptions,
): Value {
  const { builder } = context;
  let input = x;
  if (linear.pre_quant_scale !== undefined && options.applyPreQuantScale) {
    input = builder.node('Mul', [
      input,
      builder.initializer(`${path}.pre_quant_scale`, linear.pre_quant_scale),
    ]);
  }
  if (linear.input_scale !== undefined) {
    const scale = firstValue(linear.input_scale);
    const fakeQuantOptions = {
      scale,
      rescale: !(options.foldInputScale ?? false),
      scalar: (value: number) => context.scalar(value, 'float32'),
    };
    if (context.dtype === 'float16') {
      // In float32, so the result is exactly the float8 grid value (times the scale) before the one
      // rounding to float16; a grid value needs no rounding.
      const widened = builder.node('Cast', [input], { to: ONNX_FLOAT });
      input = builder.node('Cast', [appendFloat8FakeQuant(builder, widened, fakeQuantOptions)], {
        to: context.dtypeCode,
      });
    } else {
      input = appendFloat8FakeQuant(builder, input, fakeQuantOptions);
    }
  }
  const biasMode = options.bias ?? 'add';
  const { outputScale } = options;
  if (outputScale !== undefined && !canFoldOutputScale(linear)) {
    throw new InvalidArgumentError('outputScale', `${path}: its weight scale is per-tensor`);
  }
  const bias =
    linear.bias === undefined || biasMode === 'omit'
      ? undefined
      : outputScale === undefined
        ? builder.initializer(`${path}.bias`, linear.bias)
        : context.floatInitializer(
            `${path}.bias`,
            [linear.outFeatures],
            scaleRows(toFloat32(linear.bias), outputScale, 1),
          );
  if (biasMode === 'fused') {
    return appendProduct(context, path, linear, input, options, bias);
  }
  const product = appendProduct(context, path, linear, input, options);
  return bias === undefined ? product : builder.node('Add', [product, bias]);
}

/** How a product's float weight is laid out: whole `[in, out]`, or split along `in` into parts. */
interface ProductShape {
  readonly inFeatures: number;
  readonly outFeatures: number;
  /** 1, or the number of parts of a split product (see `AppendLinearOptions.splitInner`). */
  readonly parts: number;
}

/** The float weight's shape for a product: `[in, out]`, or `[parts, in / parts, out]` when split. */
function weightShape({ inFeatures, outFeatures, parts }: ProductShape): number[] {
  return parts === 1 ? [inFeatures, outFeatures] : [parts, inFeatures / parts, outFeatures];
}

/**
 * `input · weight (+ bias)`: a `Gemm` when a bias is fused in (2-D input), else a `MatMul`; a split
 * product multiplies `[tokens, parts, 1, in / parts]` by the `[parts, in / parts, out]` weight and
 * sums the parts with a row of ones.
 */
function appendMatrixProduct(
  context: GraphContext,
  input: Value,
  weight: Value,
  shape: ProductShape,
  bias?: Value,
): Value {
  const { builder } = context;
  if (shape.parts === 1) {
    return bias === undefined
      ? builder.node('MatMul', [input, weight])
      : builder.node('Gemm', [input, weight, bias]);
  }
  const { inFeatures, outFeatures, parts } = shape;
  const chunks = builder.node('Reshape', [input, context.int64s([-1, parts, 1, inFeatures / parts])]);
  const partial = builder.node('Reshape', [
    builder.node('MatMul', [chunks, weight]),
    context.int64s([-1, parts, outFeatures]),
  ]);
  // [1, parts] × [tokens, parts, out] → [tokens, 1, out]: a second one-row product, faster on
  // WebGPU than ReduceSum over the parts (bench/linear-kernels.ts).
  const summed = builder.node('MatMul', [context.onesRow(parts), partial]);
  return builder.node('Reshape', [summed, context.int64s([-1, outFeatures])]);
}

function appendProduct(
  context: GraphContext,
  path: string,
  linear: Linear,
  input: Value,
  options: AppendLinearOptions,
  bias?: Value,
): Value {
  const { builder, dtype } = context;
  const { inFeatures, outFeatures, quantDtype } = linear;
  const { outputScale } = options;
  const shape = productShape(path, linear, options, bias);
  if (quantDtype === undefined) {
    if (options.sharedWeight !== undefined && outputScale === undefined && shape.parts === 1) {
      return appendTransposedGemm(context, input, options.sharedWeight, inFeatures, outFeatures, bias);
    }
    if (outputScale !== undefined) {
      const scaled = scaleRows(toFloat32(linear.weight), outputScale, inFeatures);
      const weight = context.floatInitializer(
        `${path}.weight`,
        weightShape(shape),
        transposeMatrix(scaled, outFeatures, inFeatures),
      );
      return appendMatrixProduct(context, input, weight, shape, bias);
    }
    const transposed = transposeMatrix(linear.weight.data as MatrixStorage, outFeatures, inFeatures);
    const weight = createTensor(linear.weight.dtype, weightShape(shape), transposed as Tensor['data']);
    return appendMatrixProduct(context, input, builder.initializer(`${path}.weight`, weight), shape, bias);
  }

  // Codes from the float weight and its scales: q = clamp(roundHalfEven(W / scale)) for integers,
  // e4m3(W / scale) for float8, the division in float32 (@ptq/scale-math).
  const weight = toFloat32(linear.weight);
  const scales = toFloat32(linear.weight_scale!);
  const format = options.weightFormat;
  const layout = scaleLayoutOf(linear);
  // Per-channel and per-block scales are row-major [out, blocks]: an output scale multiplies rows.
  const storedScales =
    outputScale === undefined ? scales : scaleRows(scales, outputScale, scales.length / outFeatures);
  const matrixShape = [outFeatures, inFeatures];
  if (quantDtype === 'float8e4m3fn') {
    // With the input scale folded in, the weight's scale carries it: (q_x · s_x) · W = q_x · (s_x · W).
    const inputScale =
      options.foldInputScale && linear.input_scale !== undefined ? firstValue(linear.input_scale) : 1;
    const scale = scales[0]!;
    const codes = transposeMatrix(
      quantize(weight, matrixShape, scales, 'float8e4m3fn', layout),
      outFeatures,
      inFeatures,
    );
    if (format === 'lookup') {
      // Each entry already holds value(code) · scale (· input scale), rounded once: the product of a
      // 4-bit value and two float32 scales is exact in a double.
      const table = new Float32Array(256);
      for (let code = 0; code < 256; code += 1) {
        table[code] = Math.fround(float8E4M3FNBitsToFloat32(code) * scale * inputScale);
      }
      const indices = builder.node(
        'Cast',
        [builder.initializer(`${path}.weight_codes`, createTensor('uint8', weightShape(shape), codes))],
        { to: ONNX_INT32 },
      );
      const decoded = builder.node(
        'Gather',
        [context.floatInitializer(`${path}.weight_table`, [256], table), indices],
        {
          axis: 0,
        },
      );
      return appendMatrixProduct(context, input, decoded, shape, bias);
    }
    const dequantized = builder.node('DequantizeLinear', [
      builder.initializer(`${path}.weight_codes`, createTensor('float8e4m3fn', weightShape(shape), codes)),
      builder.initializer(
        `${path}.weight_scale`,
        floatTensor(dtype, [], Float32Array.of(scale * inputScale)),
      ),
    ]);
    return appendMatrixProduct(context, input, dequantized, shape, bias);
  }

  const bits = quantDtype === 'int4' ? 4 : 8;
  const codes = quantize(weight, matrixShape, scales, quantDtype, layout);
  if (format === 'matmul-nbits') {
    const blockSize = layout.kind === 'block' ? layout.blockSize : INT8_MATMUL_NBITS_BLOCK;
    const blocks = Math.ceil(inFeatures / blockSize);
    const packed = packMatMulNBits(codes, outFeatures, inFeatures, bits, blockSize);
    // Scales [N · blocks], row-major (n, block): ModelOpt's [out, in / 128] as it is; per-channel and
    // per-tensor scales repeated over every block of their rows.
    const blockScales =
      layout.kind === 'block'
        ? storedScales
        : Float32Array.from({ length: outFeatures * blocks }, (_, index) =>
            layout.kind === 'per-channel' ? storedScales[Math.floor(index / blocks)]! : storedScales[0]!,
          );
    return builder.node(
      'MatMulNBits',
      [
        input,
        builder.initializer(
          `${path}.weight_packed`,
          createTensor('uint8', [outFeatures, blocks, (blockSize * bits) / 8], packed),
        ),
        context.floatInitializer(`${path}.weight_scale`, [outFeatures * blocks], blockScales),
        undefined, // zero points: symmetric codes, stored with the default offset
        undefined, // g_idx
        bias,
      ],
      // accuracy_level 1: float32 compute. Left unset, the CPU kernel may quantize activations to int8.
      { K: inFeatures, N: outFeatures, bits, block_size: blockSize, accuracy_level: 1 },
      { domain: 'com.microsoft' },
    );
  }

  // DequantizeLinear on the transposed weight [in, out], so the matmul needs no Transpose.
  const transposedCodes = transposeMatrix(codes, outFeatures, inFeatures);
  const codesTensor =
    bits === 4
      ? createTensor('int4', [inFeatures, outFeatures], packInt4(transposedCodes))
      : createTensor('int8', [inFeatures, outFeatures], transposedCodes);
  const codesValue = builder.initializer(`${path}.weight_codes`, codesTensor);
  if (layout.kind === 'block') {
    const blocks = Math.ceil(inFeatures / layout.blockSize);
    const scaleValue = context.floatInitializer(
      `${path}.weight_scale`,
      [blocks, outFeatures],
      transposeMatrix(storedScales, outFeatures, blocks),
    );
    const dequantized = builder.node('DequantizeLinear', [codesValue, scaleValue], {
      axis: 0,
      block_size: layout.blockSize,
    });
    return appendMatrixProduct(context, input, dequantized, shape, bias);
  }
  const scaleValue =
    layout.kind === 'per-channel'
      ? context.floatInitializer(`${path}.weight_scale`, [outFeatures], storedScales)
      : context.floatInitializer(`${path}.weight_scale`, [], storedScales);
  const dequantized = builder.node('DequantizeLinear', [codesValue, scaleValue], { axis: 1 });
  return appendMatrixProduct(context, input, dequantized, shape, bias);
}

/** The product's layout: split only for float and float8 weights asked to be, checked here. */
function productShape(
  path: string,
  linear: Linear,
  options: AppendLinearOptions,
  bias: Value | undefined,
): ProductShape {
  const { inFeatures, outFeatures, quantDtype } = linear;
  const asked = options.splitInner ?? 1;
  const splits = quantDtype === undefined || quantDtype === 'float8e4m3fn';
  if (asked === 1 || !splits) return { inFeatures, outFeatures, parts: 1 };
  if (!Number.isInteger(asked) || asked < 1 || inFeatures % asked !== 0) {
    throw new InvalidArgumentError(
      'splitInner',
      `${path}: must be a whole number of parts dividing the ${inFeatures} inputs, got ${asked}`,
    );
  }
  if (bias !== undefined) {
    throw new InvalidArgumentError('splitInner', `${path}: a split product cannot take a fused bias`);
  }
  return { inFeatures, outFeatures, parts: asked };
}

/** `x · Wᵀ` for `x [..., in]` and a weight `[out, in]` already in the graph, without copying the weight. */
function appendTransposedGemm(
  context: GraphContext,
  input: Value,
  weight: Value,
  inFeatures: number,
  outFeatures: number,
  bias?: Value,
): Value {
  const { builder } = context;
  const rows = builder.node('Reshape', [input, context.int64s([-1, inFeatures])]);
  const product = builder.node('Gemm', [rows, weight, bias], { transB: 1 });
  const leading = builder.node('Slice', [
    builder.node('Shape', [input]),
    context.int64s([0]),
    context.int64s([-1]),
  ]);
  const shape = builder.node('Concat', [leading, context.int64s([outFeatures])], { axis: 0 });
  return builder.node('Reshape', [product, shape]);
}
