import { describe, expect, it } from 'vitest';
import { NonFiniteWeightError } from '../errors';
import { assertFiniteWeight } from './assert-finite-weight';

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
