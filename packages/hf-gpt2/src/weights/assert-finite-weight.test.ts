import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { NonFiniteWeightError } from '../errors';
import { assertFiniteWeight, firstNonFinite } from './assert-finite-weight';

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

describe('assertFiniteWeight', () => {
  it.each([
    // shape, element, value, message tail
    [[4, 3], 7, Number.NaN, 'has NaN at element 7 (row 2, column 1)'],
    [[12], 7, Number.POSITIVE_INFINITY, 'has +Inf at element 7'],
    [[2, 3, 2], 7, Number.NEGATIVE_INFINITY, 'has -Inf at element 7 (index [1, 0, 1])'],
  ])('names shape %j element %i', (shape, element, value, tail) => {
    const data = new Float32Array(12).fill(0.5);
    data[element] = value;
    expect(() => assertFiniteWeight(data, shape, 'h.0.w', 'a.safetensors')).toThrow(NonFiniteWeightError);
    expect(() => assertFiniteWeight(data, shape, 'h.0.w', 'a.safetensors')).toThrow(
      `a.safetensors: tensor "h.0.w" ${tail}`,
    );
  });
});
