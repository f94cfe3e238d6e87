import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { roundHalfEven } from './round-half-even';

/** Independent rounding: Math.round sends ties up; pull odd tie results back down. */
function referenceRound(value: number): number {
  const rounded = Math.round(value);
  return rounded - value === 0.5 && rounded % 2 !== 0 ? rounded - 1 : rounded;
}

describe('roundHalfEven', () => {
  it.each([
    [0.5, 0],
    [1.5, 2],
    [2.5, 2],
    [3.5, 4],
    [-0.5, -0],
    [-1.5, -2],
    [-2.5, -2],
    [0.49999999999999994, 0],
    [2.5000000000000004, 3],
    [-0.4, -0],
    [127.5, 128],
    [-128.5, -128],
    [2 ** 51 + 0.5, 2 ** 51],
    [2 ** 51 + 1.5, 2 ** 51 + 2],
    [-(2 ** 52) + 0.5, -(2 ** 52)],
    [2 ** 52 + 1, 2 ** 52 + 1],
    [Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY],
  ])('roundHalfEven(%d) = %d', (value, expected) => {
    expect(Object.is(roundHalfEven(value), expected)).toBe(true);
  });

  it('passes NaN through', () => {
    expect(roundHalfEven(Number.NaN)).toBeNaN();
  });

  it('agrees with an independent tie fix-up of Math.round', () => {
    const halves = fc.integer({ min: -1e6, max: 1e6 }).map((integer) => integer + 0.5);
    fc.assert(
      fc.property(
        fc.oneof(
          fc.double({ min: -1e9, max: 1e9, noNaN: true }),
          fc.double({ noNaN: true, noDefaultInfinity: true }),
          halves,
        ),
        (value) => {
          expect(roundHalfEven(value) === referenceRound(value)).toBe(true);
        },
      ),
      { numRuns: 2000 },
    );
  });
});
