import { InvalidArgumentError } from '@ptq/errors';
import { createTensor, type Tensor } from './tensor';

/** Typed arrays a weight matrix is stored in. */
export type MatrixStorage = Float32Array | Uint16Array | Int8Array | Uint8Array;

/** The transpose of a row-major `[rows, columns]` matrix, in a new array of the same type. */
export function transposeMatrix<T extends MatrixStorage>(values: T, rows: number, columns: number): T {
  const result = new (values.constructor as new (length: number) => T)(values.length);
  return transposeMatrixInto(values, rows, columns, result);
}

/**
 * The transpose of a row-major `[rows, columns]` matrix written into `target` (at least as long,
 * not `values` itself), which is returned: a caller transposing many matrices reuses one target
 * instead of paging in fresh memory for each.
 */
export function transposeMatrixInto<T extends MatrixStorage>(
  values: T,
  rows: number,
  columns: number,
  target: T,
): T {
  if (target === values || target.length < rows * columns) {
    throw new InvalidArgumentError(
      'target',
      `must be another array of at least ${rows * columns} elements, got ${target === values ? 'the source' : target.length}`,
    );
  }
  // Tiles keep both the reads and the writes within a few cache lines. Within a tile, four rows go
  // at a time: four reads a row apart, then four consecutive writes, with the indices stepped instead
  // of multiplied (a third to a half faster than one element a step, on GPT-2's shapes).
  const tile = 32;
  for (let rowStart = 0; rowStart < rows; rowStart += tile) {
    const rowEnd = Math.min(rows, rowStart + tile);
    for (let columnStart = 0; columnStart < columns; columnStart += tile) {
      const columnEnd = Math.min(columns, columnStart + tile);
      let row = rowStart;
      for (; row + 3 < rowEnd; row += 4) {
        let from = row * columns + columnStart;
        let to = columnStart * rows + row;
        for (let column = columnStart; column < columnEnd; column += 1, from += 1, to += rows) {
          target[to] = values[from]!;
          target[to + 1] = values[from + columns]!;
          target[to + 2] = values[from + 2 * columns]!;
          target[to + 3] = values[from + 3 * columns]!;
        }
      }
      for (; row < rowEnd; row += 1) {
        let from = row * columns + columnStart;
        let to = columnStart * rows + row;
        for (let column = columnStart; column < columnEnd; column += 1, from += 1, to += rows) {
          target[to] = values[from]!;
        }
      }
    }
  }
  return target;
}

/**
 * Transposes a row-major `[rows, columns]` matrix in place (its array then holds `[columns, rows]`),
 * through `scratch` (at least as long, not `values`): no new weight-sized array is paged in.
 */
export function transposeMatrixInPlace<T extends MatrixStorage>(
  values: T,
  rows: number,
  columns: number,
  scratch: T,
): T {
  transposeMatrixInto(values, rows, columns, scratch);
  values.set(scratch.subarray(0, rows * columns));
  return values;
}

/** The transpose of a 2-D tensor `[rows, columns]` → `[columns, rows]`, same dtype (not int4). */
export function transposeTensor<D extends 'float32' | 'float16' | 'bfloat16' | 'int8' | 'uint8'>(
  tensor: Tensor<D>,
): Tensor<D> {
  if (tensor.shape.length !== 2) {
    throw new InvalidArgumentError(
      'tensor',
      `must be 2-D to transpose, got shape [${tensor.shape.join(', ')}]`,
    );
  }
  const [rows = 0, columns = 0] = tensor.shape;
  return createTensor(
    tensor.dtype,
    [columns, rows],
    transposeMatrix(tensor.data as MatrixStorage, rows, columns) as Tensor<D>['data'],
  );
}
