import { createTensor, FLOAT8_E4M3FN_MAX } from '@ptq/tensor';
import type { GraphBuilder } from './graph-builder';
import type { Value } from './model-definition';

// e4m3fn: 3 mantissa bits; exponents of normal values run from -6 to 8 (448 = 1.75 · 2^8); below
// 2^-6 the subnormals share the step 2^-9.
const MANTISSA_BITS = 3;
const MINIMUM_EXPONENT = -6;
const FLOAT32_SIGNIFICAND_BITS = 24;
/** `y · (2^k + 1)` splits off `y`'s top 24 - k bits: k = 20 keeps the 4 of an e4m3 value. */
const VELTKAMP_SPLITTER = 2 ** (FLOAT32_SIGNIFICAND_BITS - 1 - MANTISSA_BITS) + 1;
/** A float32 whose ulp is the subnormal step 2^-9 and whose binade holds every y + M for |y| < 2^-6. */
const SUBNORMAL_ROUNDER = 1.5 * 2 ** (FLOAT32_SIGNIFICAND_BITS - 1 + MINIMUM_EXPONENT - MANTISSA_BITS);

/** Makes a float32 scalar constant; pass one that caches to share constants across a graph. */
export type ScalarConstant = (value: number) => Value;

function defaultScalar(builder: GraphBuilder): ScalarConstant {
  return (value) => builder.constant(createTensor('float32', [], Float32Array.of(value)));
}

export interface Float8FakeQuantOptions {
  /** Per-tensor scale s: the result is `e4m3(x / s) · s`. 0 quantizes everything to 0, as ModelOpt. */
  readonly scale: number;
  /**
   * Multiply by this instead of dividing by `scale` (ModelOpt multiplies by `448 / amax`, which is not
   * always the float32 reciprocal of `amax / 448`; TensorRT divides by the scale).
   */
  readonly multiplier?: number;
  /**
   * Default true: the result is `e4m3(x / s) · s`. False leaves it on the e4m3 grid, `e4m3(x / s)`
   * (exact in float16 too), for a caller that folds `s` into what follows, one op fewer.
   */
  readonly rescale?: boolean;
  readonly scalar?: ScalarConstant;
}

/**
 * Appends float8 e4m3fn fake quantization of a float32 `x` with a per-tensor scale: round to nearest
 * even, saturating at ±448, never NaN, like TensorRT and ModelOpt's CUDA kernel.
 *
 * Eleven elementwise ops every execution provider runs (no QuantizeLinear / DequantizeLinear on
 * activations: the CPU provider's QDQ fusion rejects float8 there; no `Round`, which WebGPU lacks),
 * because on a GPU each op is a kernel dispatch in every linear of every decode step:
 * - `y = Clip(x / s, ±448)` (or `x · multiplier`);
 * - normal values keep 4 significant bits (e4m3's implicit bit and 3 mantissa bits) by Veltkamp
 *   splitting: `c = y · (2^20 + 1)`, `c - (c - y)` is `y` rounded to nearest even at 24 - 20 bits,
 *   each op being one correctly rounded float32 operation (checked against round-to-nearest-even on
 *   every float32 in [2^-12, 448]);
 * - below 2^-6 the grid step is the subnormal 2^-9: `(y + M) - M` with `M = 1.5 · 2^14`, whose ulp
 *   is 2^-9, rounds to it, ties to even;
 * - `Where(|y| < 2^-6, subnormal, normal) · s` (the `· s` left to the caller with `rescale: false`).
 * Every step is exact but the two roundings, so on the CPU the result equals the JS codec bit for bit,
 * except that a value rounding to zero in the subnormal range comes out as +0 where the codec keeps
 * -0: no product or sum after it can tell. (WGSL's float division is only within 2.5 ulp, so on
 * WebGPU `x / s` may differ by an ulp; a multiplier avoids that, float32 products being correctly
 * rounded everywhere.)
 */
export function appendFloat8FakeQuant(
  builder: GraphBuilder,
  x: Value,
  options: Float8FakeQuantOptions,
): Value {
  const float = options.scalar ?? defaultScalar(builder);
  const { scale, multiplier } = options;
  if (scale === 0) {
    // ModelOpt quantizes everything to zero when amax is 0.
    return builder.node('Mul', [x, float(0)]);
  }
  const scaleValue = float(scale);
  const scaled =
    multiplier === undefined
      ? builder.node('Div', [x, scaleValue])
      : builder.node('Mul', [x, float(multiplier)]);
  const saturated = builder.node('Clip', [scaled, float(-FLOAT8_E4M3FN_MAX), float(FLOAT8_E4M3FN_MAX)]);
  const split = builder.node('Mul', [saturated, float(VELTKAMP_SPLITTER)]);
  const normal = builder.node('Sub', [split, builder.node('Sub', [split, saturated])]);
  const subnormal = builder.node('Sub', [
    builder.node('Add', [saturated, float(SUBNORMAL_ROUNDER)]),
    float(SUBNORMAL_ROUNDER),
  ]);
  const small = builder.node('Less', [builder.node('Abs', [saturated]), float(2 ** MINIMUM_EXPONENT)]);
  const rounded = builder.node('Where', [small, subnormal, normal]);
  return options.rescale === false ? rounded : builder.node('Mul', [rounded, scaleValue]);
}
