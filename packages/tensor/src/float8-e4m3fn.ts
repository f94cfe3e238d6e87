import { checkBits } from './check-bits';
import { float32BitsView, float32ToBits } from './float32-bits';
import { outputFor } from './output-for';

/**
 * float8 e4m3fn: 1 sign, 4 exponent (bias 7), 3 mantissa bits, no infinities ("fn" = finite).
 * 0x7F / 0xFF are NaN; the largest finite value is 0x7E = 1.75 * 2^8 = 448; subnormals are
 * multiples of 2^-9.
 */
export const FLOAT8_E4M3FN_MAX = 448;

export interface Float8Options {
  /**
   * Default true: values beyond ±448 (±Inf included) become ±448, like CUDA's `__NV_SATFINITE`
   * conversion and TensorRT. With false, the PyTorch `to(torch.float8_e4m3fn)` behaviour: values that
   * round past 448, i.e. |x| > 464, and ±Inf become NaN (464 itself is a tie and rounds to the even 448).
   * NaN stays NaN either way.
   */
  saturate?: boolean;
}

export interface Float8ArrayOptions extends Float8Options {
  /** Written instead of a fresh array; must be as long as the input. */
  output?: Uint8Array;
}

/**
 * Encodes a float32 bit pattern as e4m3fn bits, rounding to nearest, ties to even (see
 * `Float8Options.saturate` for what happens past ±448).
 */
export function float32BitsToFloat8E4M3FNBits(bits: number, saturate: boolean): number {
  const sign = (bits >>> 24) & 0x80;
  const magnitude = bits & 0x7fffffff;
  if (magnitude > 0x7f800000) {
    return sign | 0x7f;
  }
  if (magnitude >= 0x3c800000) {
    // Normal range (>= 2^-6): rebias the exponent (127 -> 7), round away 20 mantissa bits. Anything
    // that lands past 0x7E, Inf included, is out of range.
    const rebased = magnitude - 0x3c000000;
    const code = (rebased + 0x7ffff + ((rebased >>> 20) & 1)) >>> 20;
    if (code > 0x7e) {
      return sign | (saturate ? 0x7e : 0x7f);
    }
    return sign | code;
  }
  if (magnitude <= 0x3a800000) {
    // At most 2^-10, half the smallest subnormal: 2^-10 itself is a tie and goes to the even code 0.
    return sign;
  }
  // Subnormal result in units of 2^-9: shift the full 24-bit significand right and round.
  const significand = (magnitude & 0x7fffff) | 0x800000;
  const shift = 141 - (magnitude >>> 23);
  return sign | ((significand + (1 << (shift - 1)) - 1 + ((significand >>> shift) & 1)) >>> shift);
}

/** Float32 values of all 256 codes, computed from the format definition. */
const decodeValues = new Float32Array(256);
/** The same table as bit patterns, so bulk decoding copies NaN codes bit for bit. */
const decodeBits = float32BitsView(decodeValues);
for (let code = 0; code < 256; code += 1) {
  const exponent = (code >>> 3) & 0xf;
  const mantissa = code & 0x7;
  let magnitude: number;
  if (exponent === 0xf && mantissa === 0x7) {
    magnitude = Number.NaN;
  } else if (exponent === 0) {
    magnitude = mantissa * 2 ** -9;
  } else {
    magnitude = (1 + mantissa / 8) * 2 ** (exponent - 7);
  }
  decodeValues[code] = code & 0x80 ? -magnitude : magnitude;
}
// Give the negative NaN code its sign bit, which the number NaN above cannot carry.
decodeBits[0xff] = 0xffc00000;
decodeBits[0x7f] = 0x7fc00000;

/** Rounds `value` to float32, then to e4m3fn (ties to even, saturating by default) and returns its 8 bits. */
export function float32ToFloat8E4M3FNBits(value: number, options: Float8Options = {}): number {
  return float32BitsToFloat8E4M3FNBits(float32ToBits(value), options.saturate ?? true);
}

/** The exact value of e4m3fn `bits` (an integer in [0, 255]); 0x7F and 0xFF give NaN. */
export function float8E4M3FNBitsToFloat32(bits: number): number {
  checkBits('bits', bits, 8);
  return decodeValues[bits]!;
}

/** Encodes every element as e4m3fn bits (see `Float8Options`). */
export function float32ArrayToFloat8E4M3FN(
  values: Float32Array,
  options: Float8ArrayOptions = {},
): Uint8Array {
  const result = outputFor(options.output, values.length, (length) => new Uint8Array(length));
  const saturate = options.saturate ?? true;
  const bits = float32BitsView(values);
  for (let index = 0; index < bits.length; index += 1) {
    result[index] = float32BitsToFloat8E4M3FNBits(bits[index]!, saturate);
  }
  return result;
}

/** Decodes e4m3fn bits through a 256-entry table; writes into `output` when given. */
export function float8E4M3FNToFloat32Array(codes: Uint8Array, output?: Float32Array): Float32Array {
  const result = outputFor(output, codes.length, (length) => new Float32Array(length));
  const resultBits = float32BitsView(result);
  for (let index = 0; index < codes.length; index += 1) {
    resultBits[index] = decodeBits[codes[index]!]!;
  }
  return result;
}
