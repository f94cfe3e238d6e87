import { InvalidArgumentError } from '@ptq/errors';
import { createTensor, type Tensor } from './tensor';

/** Typed arrays a weight matrix is stored in. */
export type MatrixStorage = Float32Array | Uint16Array | Int8Array | Uint8Array;

/** The transpose of a row-major `[rows, columns]` matrix, in a new array of the same type. */
export function transposeMatrix<T extends MatrixStorage>(values: T, rows: number, columns: number): T {
  const result = new (values.constructor as new (length: number) => T)(values.length);
  // Tiles keep both the reads and the writes within a few cache lines.
  const tile = 32;
  for (let rowStart = 0; rowStart < rows; rowStart += tile) {
    const rowEnd = Math.min(rows, rowStart + tile);
    for (let columnStart = 0; columnStart < columns; columnStart += tile) {
      const columnEnd = Math.min(columns, columnStart + tile);
      for (let row = rowStart; row < rowEnd; row += 1) {
        for (let column = columnStart; column < columnEnd; column += 1) {
          result[column * rows + row] = values[row * columns + column]!;
        }
      }
    }
  }
  return result;
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
