import { InvalidArgumentError } from '@ptq/errors';
import { float32BitsToFloat8E4M3FNBits } from '@ptq/tensor';
import { FLOAT8_E4M3FN_VALUES } from './float8-values';
import { checkFormat, INTEGER_RANGE, type QuantFormat } from './maxbound';
import { forEachRun, type LayoutPlan, planLayout, type QuantLayout } from './quant-layout';
import { readScales, type ScaleInput } from './read-scales';
import { ROUNDING_MAGIC } from './round-half-even';

/** Codes per format: one int8 per element for int8 and int4 (unpacked), float8 bit patterns otherwise. */
export type QuantizedCodes<F extends QuantFormat> = F extends 'float8e4m3fn' ? Uint8Array : Int8Array;

export function throwNaN(index: number): never {
  throw new InvalidArgumentError('x', `contains NaN at index ${index}; integer formats have no NaN code`);
}

/** Throws for the first NaN of `x[start, end)`, the only way a scaled value can be NaN. */
export function throwFirstNaN(x: Float32Array, start: number, end: number): void {
  for (let index = start; index < end; index += 1) {
    if (Number.isNaN(x[index]!)) {
      throwNaN(index);
    }
  }
}

// The run kernels below are the hot loops: typed arrays in, typed arrays out, no allocation, nothing
// thrown inside the loop (a NaN is flagged and reported after it). Storing a float64 into a Float32Array
// rounds it to float32 (nearest even), which is how float32 arithmetic is reproduced: float64 +, *, /
// of two float32 operands, rounded to float32, equals the float32 operation. Imported bindings are
// aliased to module constants, so loaders that turn imports into property lookups keep the loops fast;
// the rounding constant is copied into each kernel, since a bundler turns module constants into
// mutable variables that the JIT reloads in the loop (a quarter slower in the bundled command).
const encodeFloat8 = float32BitsToFloat8E4M3FNBits;
const float8Values = FLOAT8_E4M3FN_VALUES;
const scratchFloat = new Float32Array(1);
const scratchBits = new Uint32Array(scratchFloat.buffer);

function quantizeIntegerRun(
  x: Float32Array,
  codes: Int8Array,
  start: number,
  end: number,
  scale: number,
  minimum: number,
  maximum: number,
): void {
  const magic = ROUNDING_MAGIC;
  if (scale === 0) {
    codes.fill(0, start, end);
    return;
  }
  let sawNaN = false;
  for (let index = start; index < end; index += 1) {
    const value = Math.fround(x[index]! / scale);
    // A plain flag keeps the loop branch-light; the cold path finds the index afterwards.
    sawNaN = sawNaN || Number.isNaN(value);
    // Clamping before rounding equals clamping after (the bounds are integers) and keeps the rounding
    // trick inside its exact range.
    codes[index] = (Math.min(maximum, Math.max(minimum, value)) + magic - magic) | 0;
  }
  if (sawNaN) {
    throwFirstNaN(x, start, end);
  }
}

function quantizeFloat8Run(
  x: Float32Array,
  codes: Uint8Array,
  start: number,
  end: number,
  scale: number,
): void {
  if (scale === 0) {
    codes.fill(0, start, end);
    return;
  }
  for (let index = start; index < end; index += 1) {
    scratchFloat[0] = x[index]! / scale;
    codes[index] = encodeFloat8(scratchBits[0]!, true);
  }
}

function dequantizeIntegerRun(
  codes: Int8Array,
  output: Float32Array,
  start: number,
  end: number,
  scale: number,
): void {
  for (let index = start; index < end; index += 1) {
    output[index] = codes[index]! * scale;
  }
}

function dequantizeFloat8Run(
  codes: Uint8Array,
  output: Float32Array,
  start: number,
  end: number,
  scale: number,
): void {
  for (let index = start; index < end; index += 1) {
    output[index] = float8Values[codes[index]!]! * scale;
  }
}

function fakeQuantIntegerRun(
  x: Float32Array,
  output: Float32Array,
  start: number,
  end: number,
  scale: number,
  minimum: number,
  maximum: number,
): void {
  const magic = ROUNDING_MAGIC;
  if (scale === 0) {
    output.fill(0, start, end);
    return;
  }
  let sawNaN = false;
  for (let index = start; index < end; index += 1) {
    const value = Math.fround(x[index]! / scale);
    // A plain flag keeps the loop branch-light; the cold path finds the index afterwards.
    sawNaN = sawNaN || Number.isNaN(value);
    // `| 0` turns a -0 from the rounding into 0, as an integer code would.
    output[index] = ((Math.min(maximum, Math.max(minimum, value)) + magic - magic) | 0) * scale;
  }
  if (sawNaN) {
    throwFirstNaN(x, start, end);
  }
}

function fakeQuantFloat8Run(
  x: Float32Array,
  output: Float32Array,
  start: number,
  end: number,
  scale: number,
): void {
  if (scale === 0) {
    output.fill(0, start, end);
    return;
  }
  for (let index = start; index < end; index += 1) {
    scratchFloat[0] = x[index]! / scale;
    output[index] = float8Values[encodeFloat8(scratchBits[0]!, true)]! * scale;
  }
}

function prepare(
  x: { length: number },
  shape: readonly number[],
  scale: ScaleInput,
  format: QuantFormat,
  layout: QuantLayout,
): { plan: LayoutPlan; scales: Float32Array } {
  checkFormat(format);
  const plan = planLayout(shape, layout, x.length);
  return { plan, scales: readScales('scale', scale, plan.scaleShape) };
}

/**
 * Quantizes `x` (row-major, `shape`) with `scale` laid out by `layout`, the TensorRT / ModelOpt export
 * way: integers `q = clamp(roundHalfEven(x / scale), min, max)` with [-128, 127] for int8 and [-8, 7]
 * for int4 (one code per element; pack with @ptq/tensor's `packInt4`); float8 `e4m3(x / scale)`
 * rounded to nearest even and saturated to ±448. `x / scale` is computed in float32.
 *
 * A scale of 0 quantizes its elements to 0. NaN in `x` throws for integer formats (naming the index)
 * and stays NaN for float8.
 */
export function quantize<F extends QuantFormat>(
  x: Float32Array,
  shape: readonly number[],
  scale: ScaleInput,
  format: F,
  layout: QuantLayout,
): QuantizedCodes<F> {
  const { plan, scales } = prepare(x, shape, scale, format, layout);
  if (format === 'float8e4m3fn') {
    const codes = new Uint8Array(plan.count);
    forEachRun(plan, (start, end, scaleIndex) =>
      quantizeFloat8Run(x, codes, start, end, scales[scaleIndex]!),
    );
    return codes as QuantizedCodes<F>;
  }
  const { min, max } = INTEGER_RANGE[format as 'int8' | 'int4'];
  const codes = new Int8Array(plan.count);
  forEachRun(plan, (start, end, scaleIndex) =>
    quantizeIntegerRun(x, codes, start, end, scales[scaleIndex]!, min, max),
  );
  return codes as QuantizedCodes<F>;
}

function checkCodes(codes: Int8Array | Uint8Array, format: QuantFormat): void {
  const expected = format === 'float8e4m3fn' ? Uint8Array : Int8Array;
  if (!(codes instanceof expected)) {
    throw new InvalidArgumentError(
      'codes',
      `${format} codes must be a ${expected.name}, got ${codes.constructor.name}`,
    );
  }
  if (format === 'int4') {
    const index = firstInt4CodeOutside(codes as Int8Array);
    if (index !== -1) {
      throw new InvalidArgumentError(
        'codes',
        `int4 codes must lie in [-8, 7] (one per element, unpacked), got ${codes[index]} at index ${index}`,
      );
    }
  }
}

/** The index of the first int4 code outside [-8, 7] (one code per element, unpacked), or -1. */
export function firstInt4CodeOutside(codes: Int8Array): number {
  const { min, max } = INTEGER_RANGE.int4;
  // Branch-free: code − min is in [0, 15] exactly for int4 codes, so any other sets a bit above 15.
  let outside = 0;
  for (let index = 0; index < codes.length; index += 1) outside |= (codes[index]! - min) & ~(max - min);
  return outside === 0 ? -1 : codes.findIndex((code) => code < min || code > max);
}

/** `codes · scale` in float32 for every element (float8 codes decode exactly first). */
export function dequantize(
  codes: Int8Array | Uint8Array,
  shape: readonly number[],
  scale: ScaleInput,
  format: QuantFormat,
  layout: QuantLayout,
): Float32Array {
  const { plan, scales } = prepare(codes, shape, scale, format, layout);
  checkCodes(codes, format);
  const output = new Float32Array(plan.count);
  if (format === 'float8e4m3fn') {
    const bits = codes as Uint8Array;
    forEachRun(plan, (start, end, scaleIndex) =>
      dequantizeFloat8Run(bits, output, start, end, scales[scaleIndex]!),
    );
  } else {
    const integers = codes as Int8Array;
    forEachRun(plan, (start, end, scaleIndex) =>
      dequantizeIntegerRun(integers, output, start, end, scales[scaleIndex]!),
    );
  }
  return output;
}

/** `dequantize(quantize(x))` in one pass, without the intermediate codes. */
export function fakeQuant(
  x: Float32Array,
  shape: readonly number[],
  scale: ScaleInput,
  format: QuantFormat,
  layout: QuantLayout,
): Float32Array {
  const { plan, scales } = prepare(x, shape, scale, format, layout);
  const output = new Float32Array(plan.count);
  if (format === 'float8e4m3fn') {
    forEachRun(plan, (start, end, scaleIndex) =>
      fakeQuantFloat8Run(x, output, start, end, scales[scaleIndex]!),
    );
  } else {
    const { min, max } = INTEGER_RANGE[format];
    forEachRun(plan, (start, end, scaleIndex) =>
      fakeQuantIntegerRun(x, output, start, end, scales[scaleIndex]!, min, max),
    );
  }
  return output;
}
