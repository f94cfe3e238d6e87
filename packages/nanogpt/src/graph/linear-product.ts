import type { Value } from '@ptq/onnx-format';
import type { QuantLayout } from '@ptq/scale-math';
import { type Tensor, toFloat32 } from '@ptq/tensor';
import type { Linear } from '../modules/linear';
import { linearCodes, scaleLayoutOf } from '../modules/linear-codes';
import type { GraphContext } from './graph-context';

/** How a product's float weight is laid out: whole `[in, out]`, or split along `in` into parts. */
export interface ProductShape {
  readonly inFeatures: number;
  readonly outFeatures: number;
  /** 1, or the number of parts of a split product (see `AppendLinearOptions.splitInner`). */
  readonly parts: number;
}

/** What one weight format's emitter needs to append `input · Wᵀ (+ bias)` for a linear. */
export interface ProductRequest {
  readonly context: GraphContext;
  /** The linear's module path, the prefix of its initializers' names. */
  readonly path: string;
  readonly linear: Linear;
  readonly input: Value;
  readonly shape: ProductShape;
  /** A bias fused into the product's own op, or undefined for none. */
  readonly bias: Value | undefined;
  /** Multiplies output channel `o` by `outputScale[o]` (see `AppendLinearOptions.outputScale`). */
  readonly outputScale: Float32Array | undefined;
  /** The float weight already in the graph as `[out, in]` (see `AppendLinearOptions.sharedWeight`). */
  readonly sharedWeight: Value | undefined;
  /** float8: fold `input_scale` into the weight's scale (see `AppendLinearOptions.foldInputScale`). */
  readonly foldInputScale: boolean | undefined;
}

/** `values` with row `r` of a row-major `[rows, columns]` matrix multiplied by `factors[r]`. */
export function scaleRows(values: Float32Array, factors: Float32Array, columns: number): Float32Array {
  return values.map((value, index) => value * factors[Math.floor(index / columns)]!);
}

export function firstValue(tensor: Tensor): number {
  return toFloat32(tensor)[0]!;
}

/** A quantized linear's codes and scales. */
export interface QuantizedWeight {
  /** The codes `[out, in]` row-major (`linearCodes`): int8 / int4 one per element, float8 bits. */
  readonly codes: Int8Array | Uint8Array;
  /** `weight_scale` in float32, as calibrated. */
  readonly scales: Float32Array;
  readonly layout: QuantLayout;
  /** The scales the graph stores: `scales` times the output scale, where there is one. */
  readonly storedScales: Float32Array;
}

/**
 * The codes and scales of a quantized linear: its codes as it holds them, or made from its float
 * weight as ModelOpt does (`linearCodes`).
 */
export function quantizedWeightOf({ linear, outputScale }: ProductRequest): QuantizedWeight {
  const { outFeatures } = linear;
  const scales = toFloat32(linear.weight_scale!);
  // Per-channel and per-block scales are row-major [out, blocks]: an output scale multiplies rows.
  const storedScales =
    outputScale === undefined ? scales : scaleRows(scales, outputScale, scales.length / outFeatures);
  return {
    codes: linearCodes(linear, scales),
    scales,
    layout: scaleLayoutOf(linear),
    storedScales,
  };
}

/** The float weight's shape for a product: `[in, out]`, or `[parts, in / parts, out]` when split. */
export function weightShape({ inFeatures, outFeatures, parts }: ProductShape): number[] {
  return parts === 1 ? [inFeatures, outFeatures] : [parts, inFeatures / parts, outFeatures];
}

/**
 * `input · weight (+ bias)`: a `Gemm` when a bias is fused in (2-D input), else a `MatMul`; a split
 * product multiplies `[tokens, parts, 1, in / parts]` by the `[parts, in / parts, out]` weight and
 * sums the parts with a row of ones.
 */
export function appendMatrixProduct(
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
