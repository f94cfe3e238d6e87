import { createTensor, type Tensor } from '@ptq/tensor';
import { expect } from 'vitest';

/** Largest |graph − reference| over the positions the reference defines, and the reference's range. */
export function compareLogits(
  logits: Tensor<'float32'>,
  reference: readonly (readonly (Float64Array | undefined)[])[],
): { maxDifference: number; range: number } {
  const [, sequence, vocab] = logits.shape as [number, number, number];
  let maxDifference = 0;
  let minimum = Number.POSITIVE_INFINITY;
  let maximum = Number.NEGATIVE_INFINITY;
  reference.forEach((row, rowIndex) => {
    row.forEach((expected, position) => {
      if (expected === undefined) return;
      const offset = (rowIndex * sequence + position) * vocab;
      for (let token = 0; token < vocab; token += 1) {
        const value = expected[token]!;
        maxDifference = Math.max(maxDifference, Math.abs(logits.data[offset + token]! - value));
        minimum = Math.min(minimum, value);
        maximum = Math.max(maximum, value);
      }
    });
  });
  return { maxDifference, range: maximum - minimum };
}

/** Largest difference between two reference forwards (to show a comparison is not vacuous). */
export function referenceDistance(
  left: readonly (readonly (Float64Array | undefined)[])[],
  right: readonly (readonly (Float64Array | undefined)[])[],
): number {
  let distance = 0;
  left.forEach((row, rowIndex) => {
    row.forEach((values, position) => {
      const other = right[rowIndex]![position];
      if (values === undefined || other === undefined) return;
      values.forEach((value, token) => {
        distance = Math.max(distance, Math.abs(value - other[token]!));
      });
    });
  });
  return distance;
}

/** One row of token ids as an int64 `[1, n]` tensor. */
export function row(ids: readonly number[]): Tensor<'int64'> {
  return createTensor('int64', [1, ids.length], BigInt64Array.from(ids, BigInt));
}

/** Largest |left − right| over two arrays of the same length (checked). */
export function maxDifference(left: Float32Array, right: Float32Array): number {
  expect(left.length).toBe(right.length);
  let worst = 0;
  for (let index = 0; index < left.length; index += 1) {
    worst = Math.max(worst, Math.abs(left[index]! - right[index]!));
  }
  return worst;
}
