import { InvalidArgumentError } from '@ptq/errors';
import { numElements, type Tensor, toFloat32 } from '@ptq/tensor';

/** Scale or amax values as callers hold them: one number, a flat array, or a tensor of any float dtype. */
export type ScaleInput = number | Float32Array | Tensor;

/** `shape` without its size-1 dimensions. */
export function squeezeShape(shape: readonly number[]): number[] {
  return shape.filter((dimension) => dimension !== 1);
}

function sameShape(left: readonly number[], right: readonly number[]): boolean {
  return left.length === right.length && left.every((dimension, index) => dimension === right[index]);
}

/**
 * Reads scales (or amax values) as float32 and checks them: the count must be `expectedShape`'s, a
 * tensor must have that shape up to size-1 dimensions (or be flat), and every value must be finite
 * and non-negative. The error names the argument and the offending index.
 */
export function readScales(
  argument: string,
  input: ScaleInput,
  expectedShape: readonly number[],
): Float32Array {
  const expectedCount = numElements(expectedShape);
  let values: Float32Array;
  if (typeof input === 'number') {
    values = new Float32Array([input]);
  } else if (input instanceof Float32Array) {
    values = input;
  } else {
    const squeezed = squeezeShape(input.shape);
    if (squeezed.length > 1 && !sameShape(squeezed, squeezeShape(expectedShape))) {
      throw new InvalidArgumentError(
        argument,
        `shape [${input.shape.join(', ')}] does not match the layout's [${expectedShape.join(', ')}]`,
      );
    }
    values = toFloat32(input);
  }
  if (values.length !== expectedCount) {
    throw new InvalidArgumentError(
      argument,
      `the layout needs ${expectedCount} values (shape [${expectedShape.join(', ')}]), got ${values.length}`,
    );
  }
  for (let index = 0; index < values.length; index += 1) {
    const value = values[index]!;
    if (!Number.isFinite(value) || value < 0) {
      throw new InvalidArgumentError(
        argument,
        `must be finite and non-negative, got ${value} at index ${index}`,
      );
    }
  }
  return values;
}
