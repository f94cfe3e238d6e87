import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { firstNonFinite, firstNonFiniteFloat16 } from './first-non-finite';
import { float16BitsToFloat32 } from './float16';

const SPECIALS = [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY];

describe('firstNonFinite', () => {
  it('agrees with findIndex(!Number.isFinite) on arrays of finite values, NaN and infinities', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.float({ noNaN: true, noDefaultInfinity: true }), fc.constantFrom(...SPECIALS)), {
          maxLength: 64,
        }),
        (values) => {
          const data = Float32Array.from(values);
          expect(firstNonFinite(data)).toBe(data.findIndex((value) => !Number.isFinite(value)));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('finds the first non-finite value across its chunks of 4096, wherever the values lie', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 13_000 }),
        fc.array(fc.tuple(fc.nat(), fc.constantFrom(...SPECIALS)), { maxLength: 3 }),
        (length, specials) => {
          const data = Float32Array.from({ length }, (_, index) => Math.sin(index) * 1e30);
          for (const [position, value] of specials) data[position % length] = value;
          expect(firstNonFinite(data)).toBe(data.findIndex((value) => !Number.isFinite(value)));
        },
      ),
      { numRuns: 300 },
    );
    for (const position of [0, 4095, 4096, 8191, 8192, 12_287]) {
      const data = new Float32Array(12_288).fill(-0);
      data[position] = Number.NEGATIVE_INFINITY;
      data[12_287] = Number.NaN;
      expect(firstNonFinite(data)).toBe(position);
    }
  });

  it('accepts the extremes of float32 (largest, smallest subnormal, -0)', () => {
    expect(firstNonFinite(Float32Array.of(3.4028234663852886e38, -3.4028234663852886e38, 1e-45, -0))).toBe(
      -1,
    );
  });
});

describe('firstNonFiniteFloat16', () => {
  it('flags exactly the codes whose value is NaN or ±Inf, each of the 65,536, at any position of a chunk', () => {
    const bits = new Uint16Array(5001).fill(0x3c00);
    for (const position of [0, 4095, 4096, 5000]) {
      for (let code = 0; code < 0x10000; code++) {
        bits[position] = code;
        const found = firstNonFiniteFloat16(bits);
        if (found !== (Number.isFinite(float16BitsToFloat32(code)) ? -1 : position)) {
          expect.fail(`code ${code} at ${position}: found ${found}`);
        }
      }
      bits[position] = 0x3c00;
    }
  });

  it('gives the first of several, across chunks of 4096', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 13_000 }),
        fc.array(fc.tuple(fc.nat(), fc.constantFrom(0x7c00, 0xfc00, 0x7e00, 0xffff)), { maxLength: 3 }),
        (length, specials) => {
          const bits = Uint16Array.from({ length }, (_, index) => (index * 7919) & 0x7bff);
          for (const [position, code] of specials) bits[position % length] = code;
          const expected = [...bits].findIndex((code) => !Number.isFinite(float16BitsToFloat32(code)));
          expect(firstNonFiniteFloat16(bits)).toBe(expected);
        },
      ),
      { numRuns: 300 },
    );
  });
});
