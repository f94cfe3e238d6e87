import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createTensor } from './tensor';
import { transposeMatrix, transposeMatrixInPlace, transposeMatrixInto, transposeTensor } from './transpose';

describe('transpose', () => {
  it('transposes a written-out example', () => {
    const matrix = createTensor('float32', [2, 3], new Float32Array([1, 2, 3, 4, 5, 6]));
    const result = transposeTensor(matrix);
    expect(result.shape).toEqual([3, 2]);
    expect([...result.data]).toEqual([1, 4, 2, 5, 3, 6]);
  });

  it('is its own inverse and moves element (r, c) to (c, r), across tile edges', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 70 }), fc.integer({ min: 1, max: 70 }), (rows, columns) => {
        const values = Int8Array.from({ length: rows * columns }, (_, index) => ((index * 37) % 251) - 125);
        const transposed = transposeMatrix(values, rows, columns);
        for (let row = 0; row < rows; row++) {
          for (let column = 0; column < columns; column++) {
            expect(transposed[column * rows + row]).toBe(values[row * columns + column]);
          }
        }
        expect(transposeMatrix(transposed, columns, rows)).toEqual(values);
      }),
      { numRuns: 40 },
    );
  });

  it('transposes into a longer target and in place through a scratch array, as transposeMatrix does', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 70 }), fc.integer({ min: 1, max: 70 }), (rows, columns) => {
        const values = Float32Array.from({ length: rows * columns }, (_, index) => index * 0.5 - 7);
        const expected = transposeMatrix(values, rows, columns);
        const target = new Float32Array(rows * columns + 3).fill(9);
        expect(transposeMatrixInto(values, rows, columns, target)).toBe(target);
        expect(target.subarray(0, rows * columns)).toEqual(expected);
        expect([...target.subarray(rows * columns)]).toEqual([9, 9, 9]);
        const inPlace = values.slice();
        expect(transposeMatrixInPlace(inPlace, rows, columns, new Float32Array(rows * columns + 1))).toBe(
          inPlace,
        );
        expect(inPlace).toEqual(expected);
      }),
      { numRuns: 40 },
    );
  });

  it('refuses a target that is the source or too short', () => {
    const values = new Float32Array(6);
    expect(() => transposeMatrixInto(values, 2, 3, values)).toThrow(
      'must be another array of at least 6 elements, got the source',
    );
    expect(() => transposeMatrixInPlace(values, 2, 3, new Float32Array(5))).toThrow(
      'must be another array of at least 6 elements, got 5',
    );
  });

  it('refuses a tensor that is not 2-D', () => {
    expect(() => transposeTensor(createTensor('float32', [2, 2, 2]))).toThrow(
      'must be 2-D to transpose, got shape [2, 2, 2]',
    );
  });
});
