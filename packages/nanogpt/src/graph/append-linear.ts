import { InvalidArgumentError } from '@ptq/errors';
import { appendFloat8FakeQuant, type Value } from '@ptq/onnx-format';
import { toFloat32 } from '@ptq/tensor';
import type { Linear } from '../modules/linear';
import { scaleLayoutOf } from '../modules/linear-codes';
import { appendDequantizeLinearProduct } from './append-dequantize-linear-product';
import { appendFloatProduct } from './append-float-product';
import { appendLookupProduct } from './append-lookup-product';
import { appendMatMulNBitsProduct } from './append-matmul-nbits-product';
import { type GraphContext, ONNX_FLOAT } from './graph-context';
import { firstValue, type ProductRequest, type ProductShape, scaleRows } from './linear-product';
import type { WeightFormat } from './weight-format';

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

/**
 * `input · Wᵀ (+ bias)` in the weight format the linear is stored in: one emitter per format, the
 * float weight's own for an unquantized linear.
 */
function appendProduct(
  context: GraphContext,
  path: string,
  linear: Linear,
  input: Value,
  options: AppendLinearOptions,
  bias?: Value,
): Value {
  const request: ProductRequest = {
    context,
    path,
    linear,
    input,
    shape: productShape(path, linear, options, bias),
    bias,
    outputScale: options.outputScale,
    sharedWeight: options.sharedWeight,
    foldInputScale: options.foldInputScale,
  };
  const { quantDtype } = linear;
  if (quantDtype === undefined) return appendFloatProduct(request);
  // A format the dtype has no emitter for is stored through DequantizeLinear, which takes every
  // dtype (`compile` refuses such a pairing first, in `resolveWeightFormat`).
  const float8 = quantDtype === 'float8e4m3fn';
  if (options.weightFormat === 'lookup' && float8) return appendLookupProduct(request);
  if (options.weightFormat === 'matmul-nbits' && !float8) return appendMatMulNBitsProduct(request);
  return appendDequantizeLinearProduct(request);
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
