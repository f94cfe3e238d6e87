import { createTensor } from '@ptq/tensor';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Conv1D } from './conv1d';
import { Linear } from './linear';

describe('Linear', () => {
  it('gives the graph its weight transposed to [in, out] (hand-checked 2 × 3)', () => {
    // nn.Linear weight [out = 2, in = 3].
    const linear = new Linear(createTensor('float32', [2, 3], Float32Array.of(1, 2, 3, 4, 5, 6)));
    expect([linear.inFeatures, linear.outFeatures]).toEqual([3, 2]);
    const weight = linear.graphWeight();
    expect(weight.shape).toEqual([3, 2]);
    expect([...weight.data]).toEqual([1, 4, 2, 5, 3, 6]);
    expect(linear.bias).toBeUndefined();
  });

  it('transposes any shape exactly, across tile edges', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 150 }), fc.integer({ min: 1, max: 150 }), (rows, columns) => {
        const data = Float32Array.from({ length: rows * columns }, (_, index) => index);
        const weight = new Linear(createTensor('float32', [rows, columns], data)).graphWeight();
        expect(weight.shape).toEqual([columns, rows]);
        for (let row = 0; row < rows; row++) {
          for (let column = 0; column < columns; column++) {
            if (weight.data[column * rows + row] !== row * columns + column) return false;
          }
        }
        return true;
      }),
      { numRuns: 40 },
    );
  });

  it('computes the transpose once per weight tensor and again after a new one is assigned', () => {
    const linear = new Linear(createTensor('float32', [1, 2], Float32Array.of(1, 2)));
    const first = linear.graphWeight();
    expect(linear.graphWeight()).toBe(first);
    linear.weight = createTensor('float32', [1, 2], Float32Array.of(3, 4));
    expect([...linear.graphWeight().data]).toEqual([3, 4]);
    expect(linear.graphWeight()).not.toBe(first);
  });
});

describe('Conv1D', () => {
  it('keeps the HF [in, out] weight as the graph weight', () => {
    const weight = createTensor('float32', [3, 2], Float32Array.of(1, 2, 3, 4, 5, 6));
    const bias = createTensor('float32', [2], Float32Array.of(0.5, -0.5));
    const conv = new Conv1D(weight, bias);
    expect([conv.inFeatures, conv.outFeatures]).toEqual([3, 2]);
    expect(conv.graphWeight()).toBe(weight);
    expect(conv.bias).toBe(bias);
  });
});
