import { InvalidArgumentError } from '@ptq/errors';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  float16BitsToFloat32,
  float16ToFloat32Array,
  float32ArrayToFloat16,
  float32BitsToFloat16Bits,
  float32ToFloat16Bits,
} from './float16';

/** binary16 value straight from the format definition, independent of the implementation. */
function referenceDecode(code: number): number {
  const sign = code & 0x8000 ? -1 : 1;
  const exponent = (code >> 10) & 0x1f;
  const mantissa = code & 0x3ff;
  if (exponent === 31) {
    return mantissa === 0 ? sign * Number.POSITIVE_INFINITY : Number.NaN;
  }
  if (exponent === 0) {
    return sign * mantissa * 2 ** -24;
  }
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

function isNaNCode(code: number): boolean {
  return (code & 0x7c00) === 0x7c00 && (code & 0x3ff) !== 0;
}

function float32FromBits(bits: number): number {
  const view = new DataView(new ArrayBuffer(4));
  view.setUint32(0, bits >>> 0);
  return view.getFloat32(0);
}

function float32BitsOf(value: number): number {
  const view = new DataView(new ArrayBuffer(4));
  view.setFloat32(0, value);
  return view.getUint32(0);
}

// Every finite non-negative binary16 value, plus 2^16 standing in for +Inf: IEEE rounds to Inf exactly
// when it would round to 2^16 with an unbounded exponent, and 0x7C00 has an even mantissa.
const candidates: { value: number; code: number }[] = [];
for (let code = 0; code <= 0x7bff; code += 1) {
  candidates.push({ value: referenceDecode(code), code });
}
candidates.push({ value: 65536, code: 0x7c00 });

/** Brute-force nearest binary16 code, ties to the even code. */
function bruteForceNearest(value: number): number {
  const magnitude = Math.abs(value);
  let best = candidates[0]!;
  let bestDistance = Number.POSITIVE_INFINITY;
  if (magnitude >= 65536) {
    best = candidates[candidates.length - 1]!;
  } else {
    for (const candidate of candidates) {
      const distance = Math.abs(candidate.value - magnitude);
      if (distance < bestDistance || (distance === bestDistance && (candidate.code & 1) === 0)) {
        best = candidate;
        bestDistance = distance;
      }
    }
  }
  return (value < 0 || Object.is(value, -0) ? 0x8000 : 0) | best.code;
}

describe('float16 decoding', () => {
  it('decodes all 65,536 codes to the value the format defines', () => {
    for (let code = 0; code < 0x10000; code += 1) {
      const expected = referenceDecode(code);
      const actual = float16BitsToFloat32(code);
      if (Number.isNaN(expected)) {
        expect(actual, `code ${code}`).toBeNaN();
      } else if (!Object.is(actual, expected)) {
        expect.unreachable(`code 0x${code.toString(16)} decoded to ${actual}, expected ${expected}`);
      }
    }
  });

  it('decodes known codes', () => {
    expect(float16BitsToFloat32(0x3c00)).toBe(1);
    expect(float16BitsToFloat32(0xc000)).toBe(-2);
    expect(float16BitsToFloat32(0x3555)).toBe(0.333251953125);
    expect(float16BitsToFloat32(0x7bff)).toBe(65504);
    expect(float16BitsToFloat32(0x0400)).toBe(6.103515625e-5);
    expect(float16BitsToFloat32(0x0001)).toBe(5.9604644775390625e-8);
    expect(float16BitsToFloat32(0x8000)).toBe(-0);
    expect(float16BitsToFloat32(0x7c00)).toBe(Number.POSITIVE_INFINITY);
    expect(float16BitsToFloat32(0xfc00)).toBe(Number.NEGATIVE_INFINITY);
    expect(float16BitsToFloat32(0x7e00)).toBeNaN();
  });

  it('array decoding matches scalar decoding and keeps NaN codes as quiet NaN bit patterns', () => {
    const codes = new Uint16Array(0x10000).map((_, index) => index);
    const decoded = float16ToFloat32Array(codes);
    const decodedBits = new Uint32Array(decoded.buffer);
    for (let code = 0; code < 0x10000; code += 1) {
      if (isNaNCode(code)) {
        const bits = decodedBits[code]!;
        expect((bits & 0x7fc00000) >>> 0).toBe(0x7fc00000);
        expect(bits >>> 31).toBe(code >>> 15);
        expect((bits >>> 13) & 0x3ff).toBe((code & 0x3ff) | 0x200);
      } else if (!Object.is(decoded[code], float16BitsToFloat32(code))) {
        expect.unreachable(`code 0x${code.toString(16)}`);
      }
    }
  });
});

describe('float16 encoding', () => {
  it('re-encodes every decoded code to itself; NaNs stay NaN (quiet)', () => {
    const codes = new Uint16Array(0x10000).map((_, index) => index);
    const roundTrip = float32ArrayToFloat16(float16ToFloat32Array(codes));
    for (let code = 0; code < 0x10000; code += 1) {
      const scalar = float32ToFloat16Bits(float16BitsToFloat32(code));
      if (isNaNCode(code)) {
        expect(isNaNCode(scalar)).toBe(true);
        // Bulk paths carry the bits: payload and sign survive, the quiet bit is set.
        expect(roundTrip[code]).toBe(code | 0x200);
      } else if (scalar !== code || roundTrip[code] !== code) {
        expect.unreachable(`code 0x${code.toString(16)} re-encoded to 0x${scalar.toString(16)}`);
      }
    }
  });

  // Each expected code worked out by hand from the binary16 layout.
  const cases: [string, number, number][] = [
    ['one', 1, 0x3c00],
    ['1 + 2^-11, tie between 0x3C00 and 0x3C01, goes even', 1 + 2 ** -11, 0x3c00],
    ['1 + 3·2^-11, tie between 0x3C01 and 0x3C02, goes even', 1 + 3 * 2 ** -11, 0x3c02],
    ['just above the first midpoint', 1 + 2 ** -11 + 2 ** -23, 0x3c01],
    ['just below the second midpoint', 1 + 3 * 2 ** -11 - 2 ** -23, 0x3c01],
    ['-2.5', -2.5, 0xc100],
    ['1/3 in float32', 1 / 3, 0x3555],
    ['largest finite', 65504, 0x7bff],
    ['65519.99 rounds down to the largest finite', 65519.99, 0x7bff],
    ['65520, the midpoint to 2^16, overflows to Inf', 65520, 0x7c00],
    ['-65520 overflows to -Inf', -65520, 0xfc00],
    ['1e9', 1e9, 0x7c00],
    ['Infinity', Number.POSITIVE_INFINITY, 0x7c00],
    ['-Infinity', Number.NEGATIVE_INFINITY, 0xfc00],
    ['smallest normal 2^-14', 2 ** -14, 0x0400],
    ['largest subnormal 1023·2^-24', 1023 * 2 ** -24, 0x03ff],
    ['1023.5·2^-24, tie at the subnormal/normal border, goes to even 0x0400', 1023.5 * 2 ** -24, 0x0400],
    ['1022.5·2^-24, tie, goes to even 0x03FE', 1022.5 * 2 ** -24, 0x03fe],
    ['smallest subnormal 2^-24', 2 ** -24, 0x0001],
    ['2^-25, tie between 0 and 2^-24, goes to 0', 2 ** -25, 0x0000],
    ['just above 2^-25', 2 ** -25 * (1 + 2 ** -23), 0x0001],
    ['1.5·2^-24, tie, goes to even 2', 1.5 * 2 ** -24, 0x0002],
    ['2.5·2^-24, tie, goes to even 2', 2.5 * 2 ** -24, 0x0002],
    ['far below the subnormals', 1e-30, 0x0000],
    ['-1e-30 keeps its sign', -1e-30, 0x8000],
    ['zero', 0, 0x0000],
    ['negative zero', -0, 0x8000],
    ['NaN', Number.NaN, 0x7e00],
  ];

  it.each(cases)('%s', (_, value, code) => {
    expect(float32ToFloat16Bits(value)).toBe(code);
    expect(float32ArrayToFloat16(new Float32Array([value]))[0]).toBe(code);
  });

  it('keeps NaN as quiet NaN, with its sign and top payload bits, never Inf', () => {
    expect(float32BitsToFloat16Bits(0x7fc00000)).toBe(0x7e00);
    expect(float32BitsToFloat16Bits(0xffc00000)).toBe(0xfe00);
    expect(float32BitsToFloat16Bits(0x7f800001)).toBe(0x7e00);
    expect(float32BitsToFloat16Bits(0x7fa02000)).toBe(0x7f01);
    expect(float32BitsToFloat16Bits(0x7f800000)).toBe(0x7c00);
  });

  it('rounds like a brute-force nearest search over every binary16 value (ties to even)', () => {
    const nearMidpoint = fc
      .tuple(fc.integer({ min: 0, max: 0x7bff }), fc.constantFrom(-1, 0, 1), fc.boolean())
      .map(([code, nudge, negative]) => {
        const midpoint = (referenceDecode(code) + (candidates[code + 1]?.value ?? 65536)) / 2;
        const value = float32FromBits(float32BitsOf(midpoint) + nudge);
        return negative ? -value : value;
      });
    const arbitrary = fc.oneof(
      fc.float({ noNaN: true }),
      fc.float({ min: -70000, max: 70000, noNaN: true }),
      fc.float({ min: -(2 ** -13), max: 2 ** -13, noNaN: true }),
      nearMidpoint,
    );
    fc.assert(
      fc.property(arbitrary, (value) => {
        expect(float32ToFloat16Bits(value)).toBe(bruteForceNearest(value));
      }),
      { numRuns: 400 },
    );
  });
});

describe('float16 bad input', () => {
  it.each([65536, -1, 1.5, Number.NaN])('rejects bits %s', (bits) => {
    expect(() => float16BitsToFloat32(bits)).toThrow(InvalidArgumentError);
    expect(() => float16BitsToFloat32(bits)).toThrow(/bits.*\[0, 65535\]/);
  });

  it('rejects an output array of the wrong length', () => {
    expect(() => float32ArrayToFloat16(new Float32Array(3), new Uint16Array(2))).toThrow(
      InvalidArgumentError,
    );
    expect(() => float16ToFloat32Array(new Uint16Array(3), new Float32Array(4))).toThrow(
      /output.*length 3, got 4/,
    );
  });

  it('writes into a given output array', () => {
    const output = new Uint16Array(2);
    expect(float32ArrayToFloat16(new Float32Array([1, -2]), output)).toBe(output);
    expect([...output]).toEqual([0x3c00, 0xc000]);
  });
});
