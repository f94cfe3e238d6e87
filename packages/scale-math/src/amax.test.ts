import { InvalidArgumentError } from '@ptq/errors';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { amaxPerBlock, amaxPerChannel, amaxPerTensor } from './amax';

const f32 = (values: number[]): Float32Array => Float32Array.from(values);

describe('amaxPerTensor', () => {
  it('is max |x|', () => {
    expect(amaxPerTensor(f32([1, -3.5, 2, -0]))).toBe(3.5);
    expect(amaxPerTensor(f32([-0]))).toBe(0);
    expect(amaxPerTensor(f32([Number.NEGATIVE_INFINITY, 1]))).toBe(Number.POSITIVE_INFINITY);
  });

  it('is 0 for an empty array', () => {
    expect(amaxPerTensor(new Float32Array(0))).toBe(0);
  });

  it('throws on NaN, naming the first index', () => {
    expect(() => amaxPerTensor(f32([1, 5, Number.NaN, Number.NaN]))).toThrow(InvalidArgumentError);
    expect(() => amaxPerTensor(f32([1, 5, Number.NaN, Number.NaN]))).toThrow(/NaN at index 2/);
  });
});

describe('amaxPerChannel', () => {
  const x = f32([1, -6, 2, -4, 3, 0.5]); // [[1, -6, 2], [-4, 3, 0.5]]

  it('reduces every axis but the channel axis', () => {
    const rows = amaxPerChannel(x, [2, 3], 0);
    expect(rows.shape).toEqual([2]);
    expect(rows.dtype).toBe('float32');
    expect([...rows.data]).toEqual([6, 4]);
    expect([...amaxPerChannel(x, [2, 3], 1).data]).toEqual([4, 6, 2]);
    expect([...amaxPerChannel(x, [2, 3], -1).data]).toEqual([4, 6, 2]);
  });

  it('handles a middle axis of a 3-D tensor', () => {
    // [2, 2, 2]: channel 0 holds elements 0, 1, 4, 5; channel 1 holds 2, 3, 6, 7.
    const cube = f32([1, -2, 10, 20, -3, 0, 30, -40]);
    expect([...amaxPerChannel(cube, [2, 2, 2], 1).data]).toEqual([3, 40]);
  });

  it('rejects a bad axis or shape, and NaN', () => {
    expect(() => amaxPerChannel(x, [2, 3], 2)).toThrow(/axis/);
    expect(() => amaxPerChannel(x, [3, 3], 0)).toThrow(/needs 9 elements, got 6/);
    expect(() => amaxPerChannel(f32([1, Number.NaN]), [2], 0)).toThrow(/NaN at index 1/);
  });
});

describe('amaxPerBlock', () => {
  it('reduces blocks of the last axis; a partial last block uses the elements it has', () => {
    // [2, 5], blocks of 2: {0,1}, {2,3}, {4}.
    const x = f32([1, -3, 2, 0.5, -7, 0.25, 0, -1, 1, 2]);
    const amax = amaxPerBlock(x, [2, 5], 2);
    expect(amax.shape).toEqual([2, 3]);
    expect([...amax.data]).toEqual([3, 2, 7, 0.25, 1, 2]);
  });

  it('matches ModelOpt export shapes for GPT-2 weights', () => {
    expect(amaxPerBlock(new Float32Array(768 * 3072), [768, 3072], 128).shape).toEqual([768, 24]);
    expect(amaxPerBlock(new Float32Array(10 * 1600), [10, 1600], 128).shape).toEqual([10, 13]);
  });

  it('equals a brute-force max over each block', () => {
    const matrix = fc
      .tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 5 }))
      .chain(([rows, columns, blockSize]) =>
        fc.tuple(
          fc.constant(rows),
          fc.constant(columns),
          fc.constant(blockSize),
          fc.array(fc.float({ noNaN: true }), { minLength: rows * columns, maxLength: rows * columns }),
        ),
      );
    fc.assert(
      fc.property(matrix, ([rows, columns, blockSize, values]) => {
        const amax = amaxPerBlock(Float32Array.from(values), [rows, columns], blockSize);
        const blocks = Math.ceil(columns / blockSize);
        for (let row = 0; row < rows; row += 1) {
          for (let block = 0; block < blocks; block += 1) {
            const members = values.slice(
              row * columns + block * blockSize,
              row * columns + Math.min(columns, (block + 1) * blockSize),
            );
            expect(amax.data[row * blocks + block]).toBe(Math.max(...members.map(Math.abs)));
          }
        }
      }),
    );
  });

  it('rejects a bad block size or a scalar', () => {
    expect(() => amaxPerBlock(new Float32Array(4), [4], 0)).toThrow(/blockSize/);
    expect(() => amaxPerBlock(new Float32Array(1), [], 2)).toThrow(/at least one axis/);
  });
});
