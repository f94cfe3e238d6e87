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

/**
 * Index of the first NaN or ±Inf, or -1. `x · 0` is ±0 for every finite x and NaN otherwise, so a
 * chunk's sum of them is 0 exactly when the chunk is finite: four independent sums per chunk (no
 * branch per element) run several times faster than testing each element, and only a chunk whose
 * sum is not 0 is searched (`x - x` is 0 for every finite x and NaN otherwise).
 */
export function firstNonFinite(data: Float32Array): number {
  const length = data.length;
  for (let start = 0; start < length; start += FINITE_CHUNK) {
    const end = Math.min(length, start + FINITE_CHUNK);
    let first = 0;
    let second = 0;
    let third = 0;
    let fourth = 0;
    let index = start;
    for (; index + 3 < end; index += 4) {
      first += data[index]! * 0;
      second += data[index + 1]! * 0;
      third += data[index + 2]! * 0;
      fourth += data[index + 3]! * 0;
    }
    for (; index < end; index++) first += data[index]! * 0;
    if (first + second + third + fourth === 0) continue;
    for (let element = start; element < end; element++) {
      const value = data[element]!;
      if (value - value !== 0) return element;
    }
  }
  return -1;
}

/** Elements summed before each test: small enough that a non-finite chunk is searched at once. */
const FINITE_CHUNK = 4096;

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
