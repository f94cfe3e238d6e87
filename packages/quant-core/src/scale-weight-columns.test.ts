import { amaxPerBlock } from '@ptq/scale-math';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { blockedWeight } from './__fixtures__/blocked-weight-arbitrary';
import { scaleWeightColumns } from './scale-weight-columns';

/** The two passes the fused one replaces: scale every element, then amax per block of the result. */
function twoPasses(
  source: Float32Array,
  rows: number,
  columns: number,
  scale: Float32Array,
  blockSize: number,
) {
  const scaled = new Float32Array(source.length);
  for (let row = 0; row < rows; row++) {
    for (let column = 0; column < columns; column++) {
      scaled[row * columns + column] = Math.fround(source[row * columns + column]! * scale[column]!);
    }
  }
  let amax: Float32Array | undefined;
  try {
    amax = amaxPerBlock(scaled, [rows, columns], blockSize).data;
  } catch {
    amax = undefined;
  }
  return { scaled, amax };
}

const SPECIAL = [
  0,
  -0,
  1e-45,
  -1e-45,
  1e-38,
  3.4e38,
  -3.4e38,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
];
const value = fc.oneof(
  { weight: 4, arbitrary: fc.float({ noNaN: true, noDefaultInfinity: true, min: -8, max: 8 }) },
  { weight: 1, arbitrary: fc.constantFrom(...SPECIAL) },
  { weight: 1, arbitrary: fc.float() },
);
const weight = blockedWeight(value, { rows: 5, columns: 11, blockSize: 6 });

describe('scaleWeightColumns', () => {
  it('scales each column and takes the block amax of the result, as two passes do', () => {
    // Row 0 scaled: [0.5, -6, 0.3]; row 1: [2, 0.9, -4.2] (float32); blocks of 2, the last partial.
    const source = Float32Array.of(1, -2, 0.5, 4, 0.3, -6);
    const scale = Float32Array.of(0.5, 3, 0.6);
    const target = new Float32Array(6);
    const amax = scaleWeightColumns(source, target, 2, 3, scale, 2);
    const fround = Math.fround;
    expect([...target]).toEqual([
      0.5,
      -6,
      fround(0.5 * fround(0.6)),
      2,
      fround(fround(0.3) * 3),
      fround(-6 * fround(0.6)),
    ]);
    expect([...amax!]).toEqual([6, target[2], 2, -target[5]!]);
  });

  it('gives the bits of the two passes for any weight, scale and block size, NaN as undefined', () => {
    fc.assert(
      fc.property(weight, ([rows, columns, blockSize, values, scales]) => {
        const source = Float32Array.from(values);
        const scale = Float32Array.from(scales);
        const expected = twoPasses(source, rows, columns, scale, blockSize);
        const target = new Float32Array(source.length);
        const amax = scaleWeightColumns(source, target, rows, columns, scale, blockSize);
        // Compared as bits: toEqual would take -0 for 0 and any NaN for another.
        expect(new Uint32Array(target.buffer)).toEqual(new Uint32Array(expected.scaled.buffer));
        expect(amax === undefined ? undefined : new Uint32Array(amax.buffer)).toEqual(
          expected.amax === undefined ? undefined : new Uint32Array(expected.amax.buffer),
        );
      }),
      { numRuns: 500 },
    );
  });

  it('scales in place when the target is the source', () => {
    const source = Float32Array.of(1, 2, 3, 4);
    const amax = scaleWeightColumns(source, source, 2, 2, Float32Array.of(2, -1), 1);
    expect([...source]).toEqual([2, -2, 6, -4]);
    expect([...amax!]).toEqual([2, 2, 6, 4]);
  });
});
