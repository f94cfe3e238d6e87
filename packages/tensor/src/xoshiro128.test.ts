import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createXoshiro128, xoshiro128FromState } from './xoshiro128';

describe('xoshiro128**', () => {
  it('gives the reference outputs for the state [1, 2, 3, 4]', () => {
    // From the reference C implementation (and an independent Python run of it).
    const next = xoshiro128FromState(Uint32Array.of(1, 2, 3, 4));
    const outputs = Array.from({ length: 6 }, () => next() * 2 ** 32);
    expect(outputs).toEqual([11520, 0, 5927040, 70819200, 2031721883, 1637235492]);
  });

  it('reproduces a seed and separates nearby seeds', () => {
    const draw = (seed: number) => {
      const next = createXoshiro128(seed);
      return Array.from({ length: 8 }, () => next());
    };
    expect(draw(42)).toEqual(draw(42));
    expect(draw(42)).not.toEqual(draw(43));
    expect(draw(0)).not.toEqual(draw(2 ** 32));
    expect(draw(Number.MAX_SAFE_INTEGER)).toEqual(draw(Number.MAX_SAFE_INTEGER));
  });

  it('stays in [0, 1)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 40 }), (seed) => {
        const next = createXoshiro128(seed);
        for (let index = 0; index < 50; index += 1) {
          const value = next();
          expect(value).toBeGreaterThanOrEqual(0);
          expect(value).toBeLessThan(1);
        }
      }),
    );
  });

  it('refuses seeds that are not non-negative safe integers', () => {
    expect(() => createXoshiro128(-1)).toThrow(
      'Invalid argument "seed": must be a non-negative safe integer, got -1',
    );
    expect(() => createXoshiro128(1.5)).toThrow('got 1.5');
  });
});
