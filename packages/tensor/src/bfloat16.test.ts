import { InvalidArgumentError } from '@ptq/errors';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  bfloat16BitsToFloat32,
  bfloat16ToFloat32Array,
  float32ArrayToBfloat16,
  float32BitsToBfloat16Bits,
  float32ToBfloat16Bits,
} from './bfloat16';

/** bfloat16 value from the format definition: 1 sign, 8 exponent (bias 127), 7 mantissa bits. */
function referenceDecode(code: number): number {
  const sign = code & 0x8000 ? -1 : 1;
  const exponent = (code >> 7) & 0xff;
  const mantissa = code & 0x7f;
  if (exponent === 255) {
    return mantissa === 0 ? sign * Number.POSITIVE_INFINITY : Number.NaN;
  }
  if (exponent === 0) {
    return sign * mantissa * 2 ** -133;
  }
  return sign * (1 + mantissa / 128) * 2 ** (exponent - 127);
}

function isNaNCode(code: number): boolean {
  return (code & 0x7f80) === 0x7f80 && (code & 0x7f) !== 0;
}

function float32FromBits(bits: number): number {
  const view = new DataView(new ArrayBuffer(4));
  view.setUint32(0, bits >>> 0);
  return view.getFloat32(0);
}

describe('bfloat16 decoding and re-encoding', () => {
  it('decodes all 65,536 codes to the value the format defines and re-encodes them to themselves', () => {
    const codes = new Uint16Array(0x10000).map((_, index) => index);
    const decoded = bfloat16ToFloat32Array(codes);
    const reencoded = float32ArrayToBfloat16(decoded);
    for (let code = 0; code < 0x10000; code += 1) {
      const expected = referenceDecode(code);
      const scalar = bfloat16BitsToFloat32(code);
      if (Number.isNaN(expected)) {
        expect(scalar).toBeNaN();
        expect(isNaNCode(float32ToBfloat16Bits(scalar))).toBe(true);
        // Bulk paths carry the bits: sign and payload survive, the quiet bit is set.
        expect(reencoded[code]).toBe(code | 0x40);
      } else if (!Object.is(scalar, expected) || !Object.is(decoded[code], expected)) {
        expect.unreachable(`code 0x${code.toString(16)} decoded to ${scalar}, expected ${expected}`);
      } else if (float32ToBfloat16Bits(scalar) !== code || reencoded[code] !== code) {
        expect.unreachable(`code 0x${code.toString(16)} did not re-encode to itself`);
      }
    }
  });
});

describe('bfloat16 encoding', () => {
  // Expected codes worked out by hand: bfloat16 is the top half of a float32.
  const cases: [string, number, number][] = [
    ['one', 0x3f800000, 0x3f80],
    ['1 + 2^-8, tie between 0x3F80 and 0x3F81, goes even', 0x3f808000, 0x3f80],
    ['1 + 3·2^-8, tie between 0x3F81 and 0x3F82, goes even', 0x3f818000, 0x3f82],
    ['just above the first midpoint', 0x3f808001, 0x3f81],
    ['just below the second midpoint', 0x3f817fff, 0x3f81],
    ['-1 - 2^-8 ties to even with its sign', 0xbf808000, 0xbf80],
    ['largest float32 rounds past the largest bfloat16 to Inf', 0x7f7fffff, 0x7f80],
    ['tie above the largest bfloat16 (odd mantissa) goes to Inf', 0x7f7f8000, 0x7f80],
    ['just below that tie stays finite', 0x7f7f7fff, 0x7f7f],
    ['tie above 0x7F7E (even) stays', 0x7f7e8000, 0x7f7e],
    ['Infinity', 0x7f800000, 0x7f80],
    ['-Infinity', 0xff800000, 0xff80],
    ['subnormal tie to even 0', 0x00008000, 0x0000],
    ['subnormal tie to even 2', 0x00018000, 0x0002],
    ['zero', 0x00000000, 0x0000],
    ['negative zero', 0x80000000, 0x8000],
    ['quiet NaN', 0x7fc00000, 0x7fc0],
    ['negative quiet NaN', 0xffc00000, 0xffc0],
    ['NaN with payload only in the low half stays NaN, not Inf', 0x7f800001, 0x7fc0],
    ['negative NaN with low payload', 0xff800001, 0xffc0],
    ['NaN payload top bits kept', 0x7fa50000, 0x7fe5],
  ];

  it.each(cases)('%s', (_, bits, code) => {
    expect(float32BitsToBfloat16Bits(bits)).toBe(code);
    if (!Number.isNaN(float32FromBits(bits))) {
      expect(float32ToBfloat16Bits(float32FromBits(bits))).toBe(code);
    }
  });

  it('rounds every float32 to the nearer of its two bfloat16 neighbours, ties to even', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.float({ noNaN: true }), fc.float({ min: -4, max: 4, noNaN: true })),
        (value) => {
          const code = float32ToBfloat16Bits(value);
          const magnitude = Math.abs(value);
          // Neighbours by truncation: the float32 bits with the low half cleared, and the next code up.
          const view = new DataView(new ArrayBuffer(4));
          view.setFloat32(0, magnitude);
          const below = view.getUint32(0) >>> 16;
          const lower = referenceDecode(below);
          // Past the largest finite code IEEE rounds as if 2^128 existed, and its code is Inf's.
          const upper = below + 1 === 0x7f80 ? 2 ** 128 : referenceDecode(below + 1);
          // Differences of nearby floats are exact in float64, so this comparison is exact.
          const lowerDistance = magnitude - lower;
          const upperDistance = upper - magnitude;
          let expected = below;
          if (upperDistance < lowerDistance || (upperDistance === lowerDistance && (below & 1) === 1)) {
            expected = below + 1;
          }
          if (magnitude === Number.POSITIVE_INFINITY) {
            expected = 0x7f80;
          }
          expect(code).toBe(expected | (value < 0 || Object.is(value, -0) ? 0x8000 : 0));
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('bfloat16 bad input', () => {
  it.each([65536, -1, 0.5])('rejects bits %s', (bits) => {
    expect(() => bfloat16BitsToFloat32(bits)).toThrow(InvalidArgumentError);
  });

  it('rejects an output array of the wrong length', () => {
    expect(() => float32ArrayToBfloat16(new Float32Array(2), new Uint16Array(1))).toThrow(/output/);
    expect(() => bfloat16ToFloat32Array(new Uint16Array(2), new Float32Array(1))).toThrow(/output/);
  });
});
