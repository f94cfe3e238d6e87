import { InvalidArgumentError } from '@ptq/errors';
import type { GraphBuilder, Value } from '@ptq/onnx';
import { createTensor } from '@ptq/tensor';

/** Per-tensor fake quantization of a linear's input, as ModelOpt's input quantizers do it. */
export interface InputQuantizer {
  readonly format: 'float8e4m3fn' | 'int8';
  /** Per-tensor scale (amax / maxbound); must be positive and finite. */
  readonly scale: number;
  /**
   * The multiplier applied before rounding; default `1 / scale` in float32. ModelOpt's is
   * `maxbound / amax`, which is not always the float32 reciprocal of `amax / maxbound`.
   */
  readonly inverseScale?: number;
}

const FLOAT8_MAX = 448;
// e4m3fn: 3 mantissa bits, smallest normal exponent -6 (values below 2^-6 are subnormals, step 2^-9).
const FLOAT8_MANTISSA_BITS = 3;
const FLOAT8_MIN_EXPONENT = -6;
const FLOAT8_MAX_EXPONENT = 8; // 448 = 1.75 · 2^8

function scalar(builder: GraphBuilder, value: number): Value {
  return builder.constant(createTensor('float32', [], Float32Array.of(value)));
}

/**
 * Appends `dequantize(quantize(x))` to the graph with ops every execution provider runs (no
 * QuantizeLinear/DequantizeLinear on activations: the CPU EP's QDQ fusion refuses float8 there).
 *
 * - int8: `Clip(Round(x · (1/s)), -128, 127) · s` (Round is half-to-even, as torch.round).
 * - float8 e4m3fn: `y = Clip(x · (1/s), ±448)`, then `Round(y / step) · step` with the element's grid
 *   step `2^(max(floor(log2|y|), -6) - 3)`, then `· s`: round-to-nearest-even, saturating, never NaN.
 *   The exponent comes from `Floor(Log(|y|) / ln 2)`, whose float error can be one off next to a power
 *   of two, so it is corrected by comparing |y| with exact powers of two read from a table (a table,
 *   not `Pow`, because `Pow` is not exact on every provider).
 *
 * Only multiplications touch the data (by 1/s as a float32 constant, and by exact powers of two), as
 * ModelOpt multiplies by maxbound/amax: WebGPU's float32 division is not correctly rounded (WGSL
 * allows 2.5 ulp), so `x / s` there lands on the other side of a rounding boundary for about 0.2% of
 * elements, while float32 products are correctly rounded on every provider and give the CPU's bits.
 */
export function fakeQuantize(builder: GraphBuilder, x: Value, quantizer: InputQuantizer): Value {
  const { format, scale } = quantizer;
  const inverse = Math.fround(quantizer.inverseScale ?? 1 / Math.fround(scale));
  if (!(Number.isFinite(scale) && Math.fround(scale) > 0 && Number.isFinite(inverse))) {
    throw new InvalidArgumentError(
      'scale',
      `a fake-quantization scale must be positive and finite in float32 (with a finite reciprocal), got ${scale}`,
    );
  }
  const scaleValue = scalar(builder, scale);
  const scaled = builder.node('Mul', [x, scalar(builder, inverse)]);
  if (format === 'int8') {
    const rounded = builder.node('Round', [scaled]);
    const clipped = builder.node('Clip', [rounded, scalar(builder, -128), scalar(builder, 127)]);
    return builder.node('Mul', [clipped, scaleValue]);
  }
  return builder.node('Mul', [float8Grid(builder, scaled), scaleValue]);
}

/** Rounds `y` (already multiplied by 1/scale) to the nearest e4m3fn value, saturating at ±448. */
function float8Grid(builder: GraphBuilder, y: Value): Value {
  const saturated = builder.node('Clip', [y, scalar(builder, -FLOAT8_MAX), scalar(builder, FLOAT8_MAX)]);
  // Below 2^-6 every value shares the subnormal step, so the exponent search starts there (and Log never sees 0).
  const magnitude = builder.node('Max', [
    builder.node('Abs', [saturated]),
    scalar(builder, 2 ** FLOAT8_MIN_EXPONENT),
  ]);

  // Powers of two 2^(-6) … 2^(9), indexed by exponent + 6.
  const powers = new Float32Array(FLOAT8_MAX_EXPONENT - FLOAT8_MIN_EXPONENT + 2);
  for (let index = 0; index < powers.length; index++) powers[index] = 2 ** (index + FLOAT8_MIN_EXPONENT);
  const powerTable = builder.constant(createTensor('float32', [powers.length], powers));
  const minimumExponent = scalar(builder, FLOAT8_MIN_EXPONENT);
  const maximumExponent = scalar(builder, FLOAT8_MAX_EXPONENT);
  const one = scalar(builder, 1);
  const tableIndex = (exponent: Value) =>
    builder.node('Cast', [builder.node('Sub', [exponent, minimumExponent])], { to: 7 /* int64 */ });

  const estimate = builder.node('Clip', [
    builder.node('Floor', [
      builder.node('Div', [builder.node('Log', [magnitude]), scalar(builder, Math.LN2)]),
    ]),
    minimumExponent,
    maximumExponent,
  ]);
  const lower = builder.node('Gather', [powerTable, tableIndex(estimate)], { axis: 0 });
  const upper = builder.node('Gather', [powerTable, tableIndex(builder.node('Add', [estimate, one]))], {
    axis: 0,
  });
  const tooLow = builder.node('Cast', [builder.node('GreaterOrEqual', [magnitude, upper])], {
    to: 1 /* float */,
  });
  const tooHigh = builder.node('Cast', [builder.node('Less', [magnitude, lower])], { to: 1 /* float */ });
  const exponent = builder.node('Clip', [
    builder.node('Sub', [builder.node('Add', [estimate, tooLow]), tooHigh]),
    minimumExponent,
    maximumExponent,
  ]);

  // Grid step 2^(exponent - 3) and its inverse, from tables so both are exact powers of two.
  const steps = powers.map((power) => power / 2 ** FLOAT8_MANTISSA_BITS);
  const stepTable = builder.constant(createTensor('float32', [steps.length], steps));
  const inverseStepTable = builder.constant(
    createTensor(
      'float32',
      [steps.length],
      steps.map((step) => 1 / step),
    ),
  );
  const index = tableIndex(exponent);
  const step = builder.node('Gather', [stepTable, index], { axis: 0 });
  const inverseStep = builder.node('Gather', [inverseStepTable, index], { axis: 0 });
  const rounded = builder.node('Round', [builder.node('Mul', [saturated, inverseStep])]);
  return builder.node('Mul', [rounded, step]);
}
