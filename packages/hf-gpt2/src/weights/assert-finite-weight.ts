import { firstNonFinite } from '@ptq/tensor';
import { NonFiniteWeightError } from '../errors';

/**
 * Throws `NonFiniteWeightError` naming the file, the tensor and the first NaN or ±Inf element (with
 * its row and column for a matrix). One pass over the data, done once as each tensor is loaded, so
 * nothing downstream (quantization, export, generation) ever sees a non-finite weight.
 */
export function assertFiniteWeight(
  data: Float32Array,
  shape: readonly number[],
  tensor: string,
  file: string,
): void {
  const element = firstNonFinite(data);
  if (element < 0) return;
  const value = data[element]!;
  const kind = Number.isNaN(value) ? 'NaN' : value > 0 ? '+Inf' : '-Inf';
  throw new NonFiniteWeightError(file, tensor, kind, element, describePosition(shape, element));
}

function describePosition(shape: readonly number[], element: number): string {
  if (shape.length < 2) return '';
  const indices = new Array<number>(shape.length);
  let rest = element;
  for (let axis = shape.length - 1; axis >= 0; axis--) {
    const size = shape[axis]!;
    indices[axis] = rest % size;
    rest = Math.floor(rest / size);
  }
  if (shape.length === 2) return ` (row ${indices[0]}, column ${indices[1]})`;
  return ` (index [${indices.join(', ')}])`;
}
