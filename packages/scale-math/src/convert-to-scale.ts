import { InvalidArgumentError } from '@ptq/errors';
import { createTensor, numElements, type Tensor, toFloat32 } from '@ptq/tensor';
import { squeezeShape } from './read-scales';

/**
 * The seed's `convert_to_scale(amax, maxbound)`: `amax.float() / maxbound` in float32 with size-1
 * dimensions squeezed away (`[out, 1]` -> `[out]`, `[1]` -> `[]`; a ModelOpt block amax
 * `[out · in / 128, 1]` becomes flat, reshape it to `[out, in / 128]` yourself).
 *
 * amax may be a tensor of any float dtype, a number (a 0-d amax) or a Float32Array with its `shape`
 * (1-D when left out). amax 0 gives scale 0, exactly as the seed does; `quantize` then sends every
 * element to 0. NaN, ±Inf or negative amax throw an InvalidArgumentError naming the index.
 */
export function convertToScale(
  amax: Tensor | number | Float32Array,
  maxbound: number,
  shape?: readonly number[],
): Tensor<'float32'> {
  // torch casts the Python scalar to the tensor's float32 before dividing.
  const divisor = Math.fround(maxbound);
  if (!Number.isFinite(divisor) || divisor <= 0) {
    throw new InvalidArgumentError('maxbound', `must be a positive finite float32 number, got ${maxbound}`);
  }
  let values: Float32Array;
  let amaxShape: readonly number[];
  if (typeof amax === 'number') {
    values = new Float32Array([amax]);
    amaxShape = [];
  } else if (amax instanceof Float32Array) {
    values = amax;
    amaxShape = shape ?? [amax.length];
    if (numElements(amaxShape) !== amax.length) {
      throw new InvalidArgumentError(
        'shape',
        `[${amaxShape.join(', ')}] holds ${numElements(amaxShape)} elements but amax has ${amax.length}`,
      );
    }
  } else {
    values = toFloat32(amax);
    amaxShape = amax.shape;
  }
  const scales = new Float32Array(values.length);
  for (let index = 0; index < values.length; index += 1) {
    const value = values[index]!;
    if (!Number.isFinite(value) || value < 0) {
      throw new InvalidArgumentError(
        'amax',
        `must be finite and non-negative, got ${value} at index ${index}`,
      );
    }
    // Both operands are float32, so the float64 quotient rounded once more equals float32 division.
    scales[index] = value / divisor;
  }
  return createTensor('float32', squeezeShape(amaxShape), scales);
}
