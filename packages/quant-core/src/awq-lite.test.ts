import { readModelOptReference } from '@ptq/default-model';
import { createTensor } from '@ptq/tensor';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { blockedWeight } from './__fixtures__/blocked-weight-arbitrary';
import { awqAlphas, awqScale, awqWeightScale } from './awq-lite';

describe('AWQ-lite math', () => {
  it("uses ModelOpt's float32 alpha grid of 11 values", async () => {
    const reference = await readModelOptReference();
    const alphas = awqAlphas(0.1);
    expect(alphas).toHaveLength(11);
    expect(alphas[3]).toBe(0.30000001192092896);
    const chosen = new Set(Object.values(reference.modes['int4-weight-only'].alphas));
    for (const alpha of chosen) expect(alphas).toContain(alpha);
  });

  it('normalises the scale so that sqrt(max · min) = 1 and clamps to [1e-4, 1e4]', () => {
    const scale = awqScale(new Float32Array([4, 1, 0]), new Float32Array([1, 1, 1]), 1);
    // s = clamp([4, 1, 0]) = [4, 1, 1e-4]; norm = sqrt(4 · 1e-4) = 0.02.
    expect(scale[0]).toBeCloseTo(200, 3);
    expect(scale[1]).toBeCloseTo(50, 4);
    expect(scale[2]).toBeCloseTo(0.005, 8);
  });
});

/** `get_weight_scale` one row at a time, as ModelOpt's loop adds the rows. */
function referenceWeightScale(data: Float32Array, out: number, inFeatures: number, blockSize: number) {
  const tiny = 1.1754943508222875e-38;
  const sums = new Float64Array(inFeatures);
  for (let row = 0; row < out; row++) {
    for (let start = 0; start < inFeatures; start += blockSize) {
      const end = Math.min(start + blockSize, inFeatures);
      let max = 0;
      for (let column = start; column < end; column++) {
        max = Math.max(max, Math.abs(data[row * inFeatures + column]!));
      }
      for (let column = start; column < end; column++) {
        sums[column]! += Math.fround(Math.abs(data[row * inFeatures + column]!) / Math.fround(max + tiny));
      }
    }
  }
  return Float32Array.from(sums, (sum) => sum / out);
}

describe('awqWeightScale', () => {
  it('averages |W| over its block max across the rows', () => {
    // Blocks of 2: row 0 [2, -4 | 1], row 1 [1, 1 | -0]. |W| / max: [0.5, 1 | 1], [1, 1 | 0].
    const weight = createTensor('float32', [2, 3], Float32Array.of(2, -4, 1, 1, 1, -0));
    const scale = awqWeightScale(weight, 2);
    expect([...scale]).toEqual([0.75, 1, 0.5]);
  });

  it('gives the bits of one row at a time for any rows, block size, zeros, NaN and infinities', () => {
    const value = fc.oneof(
      { weight: 6, arbitrary: fc.float({ noNaN: true, noDefaultInfinity: true, min: -4, max: 4 }) },
      {
        weight: 1,
        arbitrary: fc.constantFrom(0, -0, 1e-45, 1e-38, 3.4e38, Number.NaN, Number.POSITIVE_INFINITY),
      },
    );
    const matrix = blockedWeight(value, { rows: 11, columns: 11, blockSize: 5 });
    fc.assert(
      fc.property(matrix, ([rows, columns, blockSize, values]) => {
        const data = Float32Array.from(values);
        const scale = awqWeightScale(createTensor('float32', [rows, columns], data), blockSize);
        // Bits, so that -0 and NaN are compared exactly.
        expect(new Uint32Array(scale.buffer)).toEqual(
          new Uint32Array(referenceWeightScale(data, rows, columns, blockSize).buffer),
        );
      }),
      { numRuns: 500 },
    );
  });
});
