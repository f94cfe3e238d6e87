import { InvalidArgumentError } from '@ptq/errors';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  float8E4M3FNBitsToFloat32,
  float8E4M3FNToFloat32Array,
  float32ArrayToFloat8E4M3FN,
  float32BitsToFloat8E4M3FNBits,
  float32ToFloat8E4M3FNBits,
} from './float8-e4m3fn';

/**
 * e4m3fn magnitude written as an integer significand times a power of two: normals are
 * (8 + mantissa) · 2^(exponent - 10), subnormals mantissa · 2^-9.
 */
function referenceMagnitude(code: number): number {
  const exponent = (code >> 3) & 0xf;
  const mantissa = code & 0x7;
  if (exponent === 15 && mantissa === 7) {
    return Number.NaN;
  }
  return exponent === 0 ? mantissa * 2 ** -9 : (8 + mantissa) * 2 ** (exponent - 10);
}

function referenceDecode(code: number): number {
  const magnitude = referenceMagnitude(code & 0x7f);
  return code & 0x80 ? -magnitude : magnitude;
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

const positiveFinite: { value: number; code: number }[] = [];
for (let code = 0; code <= 0x7e; code += 1) {
  positiveFinite.push({ value: referenceMagnitude(code), code });
}

/**
 * Brute-force nearest code, ties to the even code. Without saturation, 480 stands in for the NaN code
 * 0x7F (the next step of the exponent ladder), so 464 ties to 448 and anything nearer 480 is NaN.
 */
function bruteForceNearest(value: number, saturate: boolean): number {
  const sign = value < 0 || Object.is(value, -0) ? 0x80 : 0;
  const magnitude = Math.abs(value);
  const candidates = saturate ? positiveFinite : [...positiveFinite, { value: 480, code: 0x7f }];
  if (magnitude > 480) {
    return sign | (saturate ? 0x7e : 0x7f);
  }
  let best = candidates[0]!;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    const distance = Math.abs(candidate.value - magnitude);
    if (distance < bestDistance || (distance === bestDistance && (candidate.code & 1) === 0)) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return sign | best.code;
}

describe('float8 e4m3fn decoding', () => {
  it('decodes all 256 codes to the value the format defines', () => {
    const all = new Uint8Array(256).map((_, index) => index);
    const decoded = float8E4M3FNToFloat32Array(all);
    for (let code = 0; code < 256; code += 1) {
      const expected = referenceDecode(code);
      if (Number.isNaN(expected)) {
        expect(float8E4M3FNBitsToFloat32(code)).toBeNaN();
        expect(decoded[code]).toBeNaN();
      } else {
        expect(Object.is(float8E4M3FNBitsToFloat32(code), expected), `code ${code}`).toBe(true);
        expect(Object.is(decoded[code], expected), `code ${code}`).toBe(true);
      }
    }
  });

  it('decodes landmark codes', () => {
    expect(float8E4M3FNBitsToFloat32(0x01)).toBe(0.001953125);
    expect(float8E4M3FNBitsToFloat32(0x07)).toBe(0.013671875);
    expect(float8E4M3FNBitsToFloat32(0x08)).toBe(0.015625);
    expect(float8E4M3FNBitsToFloat32(0x38)).toBe(1);
    expect(float8E4M3FNBitsToFloat32(0x77)).toBe(240);
    expect(float8E4M3FNBitsToFloat32(0x7e)).toBe(448);
    expect(float8E4M3FNBitsToFloat32(0xfe)).toBe(-448);
    expect(float8E4M3FNBitsToFloat32(0x80)).toBe(-0);
    expect(float8E4M3FNBitsToFloat32(0x7f)).toBeNaN();
    expect(float8E4M3FNBitsToFloat32(0xff)).toBeNaN();
  });

  it('orders the finite codes strictly increasingly', () => {
    for (let code = 1; code <= 0x7e; code += 1) {
      expect(float8E4M3FNBitsToFloat32(code)).toBeGreaterThan(float8E4M3FNBitsToFloat32(code - 1));
    }
  });
});

describe('float8 e4m3fn encoding', () => {
  it('re-encodes all 256 decoded codes to themselves, in both modes; NaN codes stay NaN', () => {
    const all = new Uint8Array(256).map((_, index) => index);
    for (const saturate of [true, false]) {
      // The bulk path copies bit patterns, so even the negative NaN comes back unchanged.
      expect([...float32ArrayToFloat8E4M3FN(float8E4M3FNToFloat32Array(all), { saturate })]).toEqual([
        ...all,
      ]);
      for (let code = 0; code < 256; code += 1) {
        const reencoded = float32ToFloat8E4M3FNBits(float8E4M3FNBitsToFloat32(code), { saturate });
        expect(reencoded & 0x7f, `code ${code}`).toBe(code & 0x7f);
      }
    }
  });

  // [description, input, code with saturation (default), code without saturation], by hand from the layout.
  const cases: [string, number, number, number][] = [
    ['one', 1, 0x38, 0x38],
    ['1.0625, tie between 1 (0x38) and 1.125 (0x39), goes even', 1.0625, 0x38, 0x38],
    ['1.1875, tie between 1.125 (0x39) and 1.25 (0x3A), goes even', 1.1875, 0x3a, 0x3a],
    ['just above 1.0625', 1.0625 + 2 ** -23, 0x39, 0x39],
    ['just below 1.0625', 1.0625 - 2 ** -23, 0x38, 0x38],
    ['-1.0625 ties to even with its sign', -1.0625, 0xb8, 0xb8],
    ['0.1 rounds to 0.1015625', 0.1, 0x1d, 0x1d],
    ['248, tie between 240 (0x77) and 256 (0x78), goes even', 248, 0x78, 0x78],
    ['432, tie between 416 (0x7D) and 448 (0x7E), goes even', 432, 0x7e, 0x7e],
    ['448, the largest finite', 448, 0x7e, 0x7e],
    ['464, tie between 448 (even mantissa) and 480 (the NaN code), goes to 448', 464, 0x7e, 0x7e],
    ['just above 464', 464 + 2 ** -15, 0x7e, 0x7f],
    ['465', 465, 0x7e, 0x7f],
    ['480', 480, 0x7e, 0x7f],
    ['-480', -480, 0xfe, 0xff],
    ['1e9', 1e9, 0x7e, 0x7f],
    ['Infinity', Number.POSITIVE_INFINITY, 0x7e, 0x7f],
    ['-Infinity', Number.NEGATIVE_INFINITY, 0xfe, 0xff],
    ['smallest normal 2^-6', 2 ** -6, 0x08, 0x08],
    [
      '7.5·2^-9, tie between the largest subnormal (0x07) and 2^-6 (0x08), goes even',
      7.5 * 2 ** -9,
      0x08,
      0x08,
    ],
    ['6.5·2^-9, tie, goes to even 0x06', 6.5 * 2 ** -9, 0x06, 0x06],
    ['smallest subnormal 2^-9', 2 ** -9, 0x01, 0x01],
    ['2^-10, tie between 0 and 2^-9, goes to 0', 2 ** -10, 0x00, 0x00],
    ['just above 2^-10', 2 ** -10 * (1 + 2 ** -23), 0x01, 0x01],
    ['just below 2^-10', 2 ** -10 * (1 - 2 ** -24), 0x00, 0x00],
    ['1.5·2^-10 rounds up to 2^-9', 1.5 * 2 ** -10, 0x01, 0x01],
    ['1.5·2^-9, tie between 0x01 and 0x02, goes even', 1.5 * 2 ** -9, 0x02, 0x02],
    ['2.5·2^-9, tie between 0x02 and 0x03, goes even', 2.5 * 2 ** -9, 0x02, 0x02],
    ['3.5·2^-9, tie between 0x03 and 0x04, goes even', 3.5 * 2 ** -9, 0x04, 0x04],
    ['-2^-10 rounds to negative zero', -(2 ** -10), 0x80, 0x80],
    ['zero', 0, 0x00, 0x00],
    ['negative zero', -0, 0x80, 0x80],
    ['NaN', Number.NaN, 0x7f, 0x7f],
  ];

  it.each(cases)('%s', (_, value, saturated, unsaturated) => {
    expect(float32ToFloat8E4M3FNBits(value)).toBe(saturated);
    expect(float32ToFloat8E4M3FNBits(value, { saturate: true })).toBe(saturated);
    expect(float32ToFloat8E4M3FNBits(value, { saturate: false })).toBe(unsaturated);
    expect(float32ArrayToFloat8E4M3FN(new Float32Array([value]))[0]).toBe(saturated);
    expect(float32ArrayToFloat8E4M3FN(new Float32Array([value]), { saturate: false })[0]).toBe(unsaturated);
  });

  it('keeps the sign of a NaN', () => {
    expect(float32BitsToFloat8E4M3FNBits(0xffc00000, true)).toBe(0xff);
    expect(float32BitsToFloat8E4M3FNBits(0x7f800001, true)).toBe(0x7f);
    expect(float32BitsToFloat8E4M3FNBits(0xff800001, false)).toBe(0xff);
  });

  it('rounds like a brute-force nearest search over every e4m3fn value, in both modes', () => {
    const nearMidpoint = fc
      .tuple(fc.integer({ min: 0, max: 0x7e }), fc.integer({ min: -2, max: 2 }), fc.boolean())
      .map(([code, nudge, negative]) => {
        const next = code === 0x7e ? 480 : referenceMagnitude(code + 1);
        const value = float32FromBits(float32BitsOf((referenceMagnitude(code) + next) / 2) + nudge);
        return negative ? -value : value;
      });
    const arbitrary = fc.oneof(
      fc.float({ noNaN: true }),
      fc.float({ min: -600, max: 600, noNaN: true }),
      fc.float({ min: -(2 ** -5), max: 2 ** -5, noNaN: true }),
      nearMidpoint,
    );
    fc.assert(
      fc.property(arbitrary, fc.boolean(), (value, saturate) => {
        expect(float32ToFloat8E4M3FNBits(value, { saturate })).toBe(bruteForceNearest(value, saturate));
      }),
      { numRuns: 3000 },
    );
  });
});

describe('float8 e4m3fn bad input', () => {
  it.each([256, -1, 2.5, Number.NaN])('rejects bits %s', (bits) => {
    expect(() => float8E4M3FNBitsToFloat32(bits)).toThrow(InvalidArgumentError);
    expect(() => float8E4M3FNBitsToFloat32(bits)).toThrow(/\[0, 255\]/);
  });

  it('rejects an output array of the wrong length', () => {
    expect(() => float32ArrayToFloat8E4M3FN(new Float32Array(2), { output: new Uint8Array(3) })).toThrow(
      InvalidArgumentError,
    );
    expect(() => float8E4M3FNToFloat32Array(new Uint8Array(2), new Float32Array(3))).toThrow(/output/);
  });
});
