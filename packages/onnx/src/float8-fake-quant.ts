import { createTensor, FLOAT8_E4M3FN_MAX } from '@ptq/tensor';
import type { GraphBuilder } from './graph-builder';
import type { Value } from './model-definition';

// e4m3fn: 3 mantissa bits; exponents of normal values run from -6 to 8 (448 = 1.75 · 2^8); below
// 2^-6 the subnormals share the step 2^-9.
const MANTISSA_BITS = 3;
const MINIMUM_EXPONENT = -6;
const MAXIMUM_EXPONENT = 8;
const ONNX_FLOAT = 1;
const ONNX_INT32 = 6;

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
  readonly scalar?: ScalarConstant;
}

/**
 * Appends float8 e4m3fn fake quantization of a float32 `x` with a per-tensor scale: round to nearest
 * even, saturating at ±448, never NaN, like TensorRT and ModelOpt's CUDA kernel.
 *
 * Built from ops every execution provider runs (no QuantizeLinear / DequantizeLinear on activations:
 * the CPU provider's QDQ fusion rejects float8 there; no `Round` either, which WebGPU lacks):
 * `y = Clip(x / s, ±448)` (or `x · multiplier`), then `round(y / step) · step` with the element's grid
 * step `2^(max(floor(log2 |y|), -6) - 3)` and rounding half to even, then `· s`. The exponent comes
 * from `Floor(Log(|y|) / ln 2)`, which float error can leave one off next to a power of two, so it is
 * corrected against exact powers of two read from a table (a table rather than `Pow`, which is not
 * exact on every provider). Dividing by a power of two and the rounding are exact, so the result
 * equals the JS codec bit for bit on the CPU. (WGSL's float division is only within 2.5 ulp, so on
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
  // Every value below 2^-6 has the subnormal step, so the search starts there (and Log never sees 0).
  const clamped = builder.node('Max', [builder.node('Abs', [saturated]), float(2 ** MINIMUM_EXPONENT)]);
  // NaN would become an out-of-range table index; give it any exponent (NaN stays NaN through the rounding).
  const magnitude = builder.node('Where', [builder.node('Equal', [clamped, clamped]), clamped, float(1)]);

  // powers[i] = 2^(i - 6) for exponents -6 … 9; steps[i] = powers[i] / 8.
  const count = MAXIMUM_EXPONENT - MINIMUM_EXPONENT + 2;
  const powers = Float32Array.from({ length: count }, (_, index) => 2 ** (index + MINIMUM_EXPONENT));
  const steps = powers.map((power) => power / 2 ** MANTISSA_BITS);
  const powerTable = builder.constant(createTensor('float32', [count], powers));
  const stepTable = builder.constant(createTensor('float32', [count], steps));
  const tableIndex = (exponent: Value) =>
    builder.node('Cast', [builder.node('Sub', [exponent, float(MINIMUM_EXPONENT)])], { to: ONNX_INT32 });

  const estimate = builder.node('Clip', [
    builder.node('Floor', [builder.node('Div', [builder.node('Log', [magnitude]), float(Math.LN2)])]),
    float(MINIMUM_EXPONENT),
    float(MAXIMUM_EXPONENT),
  ]);
  const lower = builder.node('Gather', [powerTable, tableIndex(estimate)], { axis: 0 });
  const upper = builder.node('Gather', [powerTable, tableIndex(builder.node('Add', [estimate, float(1)]))], {
    axis: 0,
  });
  const asFloat = (condition: Value) => builder.node('Cast', [condition], { to: ONNX_FLOAT });
  const exponent = builder.node('Clip', [
    builder.node('Sub', [
      builder.node('Add', [estimate, asFloat(builder.node('GreaterOrEqual', [magnitude, upper]))]),
      asFloat(builder.node('Less', [magnitude, lower])),
    ]),
    float(MINIMUM_EXPONENT),
    float(MAXIMUM_EXPONENT),
  ]);
  const step = builder.node('Gather', [stepTable, tableIndex(exponent)], { axis: 0 });
  const onGrid = builder.node('Mul', [
    appendRoundHalfEven(builder, builder.node('Div', [saturated, step]), float),
    step,
  ]);
  return builder.node('Mul', [onGrid, scaleValue]);
}

/**
 * `Round` (half to even) from `Floor`, for values |v| ≤ 16 as the float8 grid gives: WebGPU has no
 * `Round` kernel, and one op on the CPU in the middle of each linear costs two copies per run.
 * On `a = |v|`: `f = Floor(a + 0.5)` is exact here (a has at most 20 fraction bits), and a tie (`f - a = 0.5`) with an odd `f` steps
 * back to `f - 1`. The sign comes back as a factor ±1, negative when `1 / v < 0`, so -0.3 and -0
 * round to -0 as `Round` gives (`Where` would drop the sign of zero).
 */
export function appendRoundHalfEven(builder: GraphBuilder, value: Value, scalar?: ScalarConstant): Value {
  const float = scalar ?? defaultScalar(builder);
  const asFloat = (condition: Value) => builder.node('Cast', [condition], { to: ONNX_FLOAT });
  const magnitude = builder.node('Abs', [value]);
  const nearestUp = builder.node('Floor', [builder.node('Add', [magnitude, float(0.5)])]);
  const tie = builder.node('Equal', [builder.node('Sub', [nearestUp, magnitude]), float(0.5)]);
  const half = builder.node('Floor', [builder.node('Mul', [nearestUp, float(0.5)])]);
  const odd = builder.node('Equal', [
    builder.node('Sub', [nearestUp, builder.node('Mul', [half, float(2)])]),
    float(1),
  ]);
  const rounded = builder.node('Sub', [nearestUp, asFloat(builder.node('And', [tie, odd]))]);
  const negative = asFloat(builder.node('Less', [builder.node('Reciprocal', [value]), float(0)]));
  const sign = builder.node('Sub', [float(1), builder.node('Mul', [negative, float(2)])]);
  return builder.node('Mul', [rounded, sign]);
}
