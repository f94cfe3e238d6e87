import { checkBits } from './check-bits';
import { bitsToFloat32, float32BitsView, float32ToBits } from './float32-bits';
import { outputFor } from './output-for';

/**
 * IEEE 754 binary16: 1 sign, 5 exponent (bias 15), 10 mantissa bits. Largest finite 65504, smallest
 * normal 2^-14, smallest subnormal 2^-24.
 */
export const FLOAT16_MAX = 65504;

/**
 * Encodes a float32 bit pattern as binary16 bits, rounding to nearest, ties to even. Overflow goes to
 * ±Inf as IEEE requires (|x| >= 65520, the midpoint between 65504 and 2^16); NaN stays NaN with the
 * quiet bit set and the top payload bits kept, so a NaN never turns into Inf.
 */
export function float32BitsToFloat16Bits(bits: number): number {
  const sign = (bits >>> 16) & 0x8000;
  const magnitude = bits & 0x7fffffff;
  if (magnitude >= 0x7f800000) {
    return magnitude === 0x7f800000 ? sign | 0x7c00 : sign | 0x7e00 | ((magnitude >>> 13) & 0x3ff);
  }
  if (magnitude >= 0x477ff000) {
    return sign | 0x7c00;
  }
  if (magnitude >= 0x38800000) {
    // Normal result: rebias the exponent (127 -> 15) in place, then round away 13 mantissa bits.
    // A carry out of the mantissa correctly bumps the exponent.
    const rebased = magnitude - 0x38000000;
    return sign | ((rebased + 0xfff + ((rebased >>> 13) & 1)) >>> 13);
  }
  if (magnitude <= 0x33000000) {
    // At most 2^-25, half the smallest subnormal: 2^-25 itself is a tie and goes to the even code 0.
    return sign;
  }
  // Subnormal result in units of 2^-24: shift the full 24-bit significand right and round.
  const significand = (magnitude & 0x7fffff) | 0x800000;
  const shift = 126 - (magnitude >>> 23);
  return sign | ((significand + (1 << (shift - 1)) - 1 + ((significand >>> shift) & 1)) >>> shift);
}

/** Decodes binary16 bits to float32 bits; exact for every code (NaNs come out quiet). */
function float16BitsToFloat32BitsUnchecked(bits: number): number {
  const sign = (bits & 0x8000) << 16;
  const exponent = (bits >>> 10) & 0x1f;
  let mantissa = bits & 0x3ff;
  if (exponent === 0x1f) {
    return (sign | 0x7f800000 | (mantissa === 0 ? 0 : 0x400000 | (mantissa << 13))) >>> 0;
  }
  if (exponent !== 0) {
    return (sign | ((exponent + 112) << 23) | (mantissa << 13)) >>> 0;
  }
  if (mantissa === 0) {
    return sign >>> 0;
  }
  // Subnormal: normalise the mantissa so the float32 gets an implicit leading one.
  let float32Exponent = 113;
  while ((mantissa & 0x400) === 0) {
    mantissa <<= 1;
    float32Exponent -= 1;
  }
  return (sign | (float32Exponent << 23) | ((mantissa & 0x3ff) << 13)) >>> 0;
}

let decodeTable: Uint32Array | undefined;

/** All 65,536 decoded float32 bit patterns (256 KiB), built on first use. */
function float16DecodeTable(): Uint32Array {
  if (decodeTable === undefined) {
    decodeTable = new Uint32Array(0x10000);
    for (let code = 0; code < 0x10000; code += 1) {
      decodeTable[code] = float16BitsToFloat32BitsUnchecked(code);
    }
  }
  return decodeTable;
}

/** Rounds `value` to float32, then to the nearest binary16 (ties to even) and returns its 16 bits. */
export function float32ToFloat16Bits(value: number): number {
  return float32BitsToFloat16Bits(float32ToBits(value));
}

/** The exact value of binary16 `bits` (an integer in [0, 65535]). */
export function float16BitsToFloat32(bits: number): number {
  checkBits('bits', bits, 16);
  return bitsToFloat32(float16DecodeTable()[bits]!);
}

/** Encodes every element as binary16 bits; writes into `output` when given (same length). */
export function float32ArrayToFloat16(values: Float32Array, output?: Uint16Array): Uint16Array {
  const result = outputFor(output, values.length, (length) => new Uint16Array(length));
  const bits = float32BitsView(values);
  for (let index = 0; index < bits.length; index += 1) {
    result[index] = float32BitsToFloat16Bits(bits[index]!);
  }
  return result;
}

/** Decodes binary16 bits to float32 through a 65,536-entry table; writes into `output` when given. */
export function float16ToFloat32Array(codes: Uint16Array, output?: Float32Array): Float32Array {
  const result = outputFor(output, codes.length, (length) => new Float32Array(length));
  const table = float16DecodeTable();
  // Writing bit patterns (not numbers) keeps NaN payloads intact.
  const resultBits = float32BitsView(result);
  for (let index = 0; index < codes.length; index += 1) {
    resultBits[index] = table[codes[index]!]!;
  }
  return result;
}
