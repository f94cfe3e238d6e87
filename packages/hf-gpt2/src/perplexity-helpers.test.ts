import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { countWindows, logSoftmaxAt } from './perplexity';

describe('logSoftmaxAt', () => {
  test('hand-computed values', () => {
    // Uniform over 4: log(1/4).
    expect(logSoftmaxAt(Float32Array.of(0, 0, 0, 0), 2)).toBeCloseTo(Math.log(0.25), 12);
    // [ln 1, ln 3] → probabilities 1/4, 3/4.
    expect(logSoftmaxAt(Float32Array.of(0, Math.fround(Math.log(3))), 1)).toBeCloseTo(Math.log(0.75), 6);
    // Large logits do not overflow.
    expect(logSoftmaxAt(Float32Array.of(1000, 1000), 0)).toBeCloseTo(Math.log(0.5), 12);
  });

  test('probabilities sum to one, and adding a constant changes nothing', () => {
    fc.assert(
      fc.property(
        fc.array(fc.float({ min: -30, max: 30, noNaN: true }), { minLength: 1, maxLength: 40 }),
        fc.float({ min: -50, max: 50, noNaN: true }),
        (values, shift) => {
          const row = Float32Array.from(values);
          let total = 0;
          for (let index = 0; index < row.length; index++) total += Math.exp(logSoftmaxAt(row, index));
          expect(total).toBeCloseTo(1, 9);
          const shifted = row.map((value) => value + shift);
          // The shifted row is rounded to float32 again, so compare at float32 precision.
          expect(logSoftmaxAt(shifted, 0)).toBeCloseTo(logSoftmaxAt(row, 0), 3);
        },
      ),
    );
  });
});

describe('countWindows', () => {
  test.each([
    [2, 1024, 1024, 1],
    [1024, 1024, 1024, 1],
    [1025, 1024, 1024, 2],
    [2048, 1024, 1024, 2],
    [2048, 1024, 512, 3],
    [100019, 1024, 1024, 98],
  ])('%d tokens, window %d, stride %d → %d windows', (total, window, stride, count) => {
    expect(countWindows(total, window, stride)).toBe(count);
  });

  test('matches ceil((total − window) / stride) + 1 for texts longer than a window', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 64 }),
        fc.integer({ min: 1, max: 64 }),
        fc.integer({ min: 0, max: 500 }),
        (window, strideSeed, extra) => {
          const stride = 1 + (strideSeed % window);
          const total = window + extra;
          expect(countWindows(total, window, stride)).toBe(Math.ceil(extra / stride) + 1);
        },
      ),
    );
  });
});
