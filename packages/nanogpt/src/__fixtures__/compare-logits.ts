import type { Tensor } from '@ptq/tensor';

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
