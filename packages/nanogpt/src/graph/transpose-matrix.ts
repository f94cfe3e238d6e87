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
