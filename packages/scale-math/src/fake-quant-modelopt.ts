import { InvalidArgumentError } from '@ptq/errors';
import { float32BitsToFloat8E4M3FNBits } from '@ptq/tensor';
import { FLOAT8_E4M3FN_VALUES } from './float8-values';
import { checkFormat, INTEGER_RANGE, MAXBOUND, type QuantFormat } from './maxbound';
import { forEachRun, planLayout, type QuantLayout } from './quant-layout';
import { throwFirstNaN, throwNaN } from './quantize';
import { readScales, type ScaleInput } from './read-scales';
import { ROUNDING_MAGIC } from './round-half-even';

/** ModelOpt treats amax at or below 2^-24 (the smallest float16 subnormal) as zero. */
export const ZERO_AMAX_THRESHOLD = 2 ** -24;

/**
 * `maxbound / amax` as ModelOpt's fake quantization computes it: PyTorch evaluates a Python number
 * over a tensor as `amax.reciprocal() * max_bound`, two float32 roundings, not one.
 */
export function modelOptScale(amax: number, maxbound: number): number {
  return Math.fround(Math.fround(1 / amax) * maxbound);
}

// Hot loops as in quantize.ts: module-local aliases (the rounding constant copied into each kernel),
// nothing thrown inside the loops.
const encodeFloat8 = float32BitsToFloat8E4M3FNBits;
const float8Values = FLOAT8_E4M3FN_VALUES;
const scratchFloat = new Float32Array(1);
const scratchBits = new Uint32Array(scratchFloat.buffer);

function zeroRun(x: Float32Array, output: Float32Array, start: number, end: number, integer: boolean): void {
  for (let index = start; index < end; index += 1) {
    const value = x[index]!;
    if (integer && Number.isNaN(value)) {
      throwNaN(index);
    }
    // x · 0, as torch computes with a zeroed scale: zeros keep their sign.
    output[index] = value * 0;
  }
}

function integerRun(
  x: Float32Array,
  output: Float32Array,
  start: number,
  end: number,
  scale: number,
  minimum: number,
  maximum: number,
): void {
  const magic = ROUNDING_MAGIC;
  let sawNaN = false;
  for (let index = start; index < end; index += 1) {
    const value = Math.fround(x[index]! * scale);
    // A plain flag keeps the loop branch-light; the cold path finds the index afterwards.
    sawNaN = sawNaN || Number.isNaN(value);
    const clamped = Math.min(maximum, Math.max(minimum, value));
    const rounded = clamped + magic - magic;
    // torch.round keeps the sign of zero (round(-0.3) = -0), and so does the division after it.
    output[index] = (rounded === 0 ? clamped * 0 : rounded) / scale;
  }
  if (sawNaN) {
    throwFirstNaN(x, start, end);
  }
}

function float8Run(x: Float32Array, output: Float32Array, start: number, end: number, scale: number): void {
  const inverse = Math.fround(1 / scale);
  for (let index = start; index < end; index += 1) {
    scratchFloat[0] = x[index]! * scale;
    output[index] = float8Values[encodeFloat8(scratchBits[0]!, true)]! * inverse;
  }
}

/**
 * ModelOpt's fake quantization from amax, as its calibration and AWQ search compute it on CPU in
 * float32 (`tensor_quant.py`): with `s = maxbound / amax` (float32, computed as PyTorch does
 * `number / tensor`: `fround(fround(1 / amax) · maxbound)`),
 * integers give `clamp(round(x · s), min, max) / s` and float8 gives `e4m3(x · s) · (1 / s)`,
 * e4m3 rounding to nearest even and saturating at ±448 (the CUDA kernel's behaviour).
 *
 * Multiplying by `maxbound / amax` can land on the other side of a rounding boundary than dividing by
 * `amax / maxbound`, so this differs from `fakeQuant(x, convertToScale(amax))` in rare elements; use
 * it where results must match ModelOpt's reference numbers. amax at or below 2^-24 gives (signed)
 * zeros, like ModelOpt's integer path. NaN in `x` throws for integer formats. The result goes into
 * `into` when given (at least as long as `x`; `x` itself works), so that a caller fake-quantizing one
 * weight after another reuses one array instead of paging in a fresh one each time.
 */
export function fakeQuantModelOpt(
  x: Float32Array,
  shape: readonly number[],
  amax: ScaleInput,
  format: QuantFormat,
  layout: QuantLayout,
  into?: Float32Array,
): Float32Array {
  checkFormat(format);
  const plan = planLayout(shape, layout, x.length);
  const amaxValues = readScales('amax', amax, plan.scaleShape);
  const maxbound = Math.fround(MAXBOUND[format]);
  if (into !== undefined && into.length < plan.count) {
    throw new InvalidArgumentError('into', `must hold ${plan.count} elements, got ${into.length}`);
  }
  const output = into === undefined ? new Float32Array(plan.count) : into.subarray(0, plan.count);
  const integer = format !== 'float8e4m3fn';
  const { min, max } = integer ? INTEGER_RANGE[format] : { min: 0, max: 0 };
  forEachRun(plan, (start, end, scaleIndex) => {
    const amaxValue = amaxValues[scaleIndex]!;
    if (amaxValue <= ZERO_AMAX_THRESHOLD) {
      zeroRun(x, output, start, end, integer);
      return;
    }
    const scale = modelOptScale(amaxValue, maxbound);
    if (integer) {
      integerRun(x, output, start, end, scale, min, max);
    } else {
      float8Run(x, output, start, end, scale);
    }
  });
  return output;
}

/** Above this amax, 1/amax is a float32 subnormal and `fakeQuantModelOptCodes` makes no promise. */
export const CODES_AMAX_LIMIT = 2 ** 126;

function codesRun(
  x: Float32Array,
  codes: Int8Array,
  start: number,
  end: number,
  scale: number,
  minimum: number,
  maximum: number,
): void {
  const magic = ROUNDING_MAGIC;
  let sawNaN = false;
  for (let index = start; index < end; index += 1) {
    const value = Math.fround(x[index]! * scale);
    // A plain flag keeps the loop branch-light; the cold path finds the index afterwards.
    sawNaN = sawNaN || Number.isNaN(value);
    codes[index] = (Math.min(maximum, Math.max(minimum, value)) + magic - magic) | 0;
  }
  if (sawNaN) {
    throwFirstNaN(x, start, end);
  }
}

/**
 * The integer codes `fakeQuantModelOpt` rounds `x` to, `clamp(round(x · maxbound/amax), min, max)`
 * (0 where amax ≤ 2^-24), in one pass and without the fake-quantized floats. Quantizing
 * `fakeQuantModelOpt`'s output with `convertToScale(amax, maxbound)` gives these same codes back for
 * every amax up to `CODES_AMAX_LIMIT` (the round trip moves a code by a few float32 ulps, far from a
 * rounding boundary), so an exporter of ModelOpt's fake-quantized weights can take them directly.
 * NaN in `x` throws. The codes go into `into` when given (at least as long as `x`), as
 * `fakeQuantModelOpt`'s values do.
 */
export function fakeQuantModelOptCodes(
  x: Float32Array,
  shape: readonly number[],
  amax: ScaleInput,
  format: 'int8' | 'int4',
  layout: QuantLayout,
  into?: Int8Array,
): Int8Array {
  checkFormat(format);
  const plan = planLayout(shape, layout, x.length);
  const amaxValues = readScales('amax', amax, plan.scaleShape);
  const maxbound = Math.fround(MAXBOUND[format]);
  if (into !== undefined && into.length < plan.count) {
    throw new InvalidArgumentError('into', `must hold ${plan.count} codes, got ${into.length}`);
  }
  const codes = into === undefined ? new Int8Array(plan.count) : into.subarray(0, plan.count);
  const { min, max } = INTEGER_RANGE[format];
  forEachRun(plan, (start, end, scaleIndex) => {
    const amaxValue = amaxValues[scaleIndex]!;
    if (amaxValue <= ZERO_AMAX_THRESHOLD) {
      const nan = x.subarray(start, end).findIndex(Number.isNaN);
      if (nan >= 0) throwNaN(start + nan);
      codes.fill(0, start, end);
      return;
    }
    codesRun(x, codes, start, end, modelOptScale(amaxValue, maxbound), min, max);
  });
  return codes;
}
