import { InvalidArgumentError } from '@ptq/errors';

export const INT4_MIN = -8;
export const INT4_MAX = 7;

function checkInt4Range(values: Int8Array): void {
  for (let index = 0; index < values.length; index += 1) {
    const value = values[index]!;
    if (value < INT4_MIN || value > INT4_MAX) {
      throw new InvalidArgumentError(
        'values',
        `int4 values must lie in [-8, 7], got ${value} at index ${index}`,
      );
    }
  }
}

function checkCount(argument: string, count: number): void {
  if (!Number.isSafeInteger(count) || count < 0) {
    throw new InvalidArgumentError(argument, `must be a non-negative integer, got ${count}`);
  }
}

/** Sign-extends the low four bits of `nibble`. */
function signExtend(nibble: number): number {
  return (nibble << 28) >> 28;
}

/**
 * Packs int4 values two per byte in the ONNX layout: element 2i in the low nibble of byte i, element
 * 2i+1 in the high nibble. An odd count leaves the last high nibble 0.
 */
export function packInt4(values: Int8Array): Uint8Array {
  checkInt4Range(values);
  const packed = new Uint8Array(Math.ceil(values.length / 2));
  const pairs = values.length >>> 1;
  for (let index = 0; index < pairs; index += 1) {
    packed[index] = (values[2 * index]! & 0xf) | ((values[2 * index + 1]! & 0xf) << 4);
  }
  if (values.length % 2 === 1) {
    packed[pairs] = values[values.length - 1]! & 0xf;
  }
  return packed;
}

/** Unpacks `count` int4 values from the ONNX layout (`packed` must hold exactly ceil(count / 2) bytes). */
export function unpackInt4(packed: Uint8Array, count: number): Int8Array {
  checkCount('count', count);
  const expectedLength = Math.ceil(count / 2);
  if (packed.length !== expectedLength) {
    throw new InvalidArgumentError(
      'packed',
      `${count} int4 values need ${expectedLength} bytes, got ${packed.length}`,
    );
  }
  const values = new Int8Array(count);
  for (let index = 0; index < count; index += 1) {
    const byte = packed[index >>> 1]!;
    values[index] = signExtend(index & 1 ? byte >>> 4 : byte);
  }
  return values;
}

function checkMatrix(values: { length: number }, rows: number, columns: number, perRow: number): void {
  checkCount('rows', rows);
  checkCount('columns', columns);
  if (rows % 2 !== 0) {
    throw new InvalidArgumentError('rows', `row-pair packing needs an even number of rows, got ${rows}`);
  }
  const expectedLength = (rows / perRow) * columns;
  if (values.length !== expectedLength) {
    throw new InvalidArgumentError(
      perRow === 1 ? 'values' : 'packed',
      `a [${rows}, ${columns}] int4 matrix needs ${expectedLength} ${perRow === 1 ? 'values' : 'bytes'}, got ${values.length}`,
    );
  }
}

/**
 * Packs a row-major `[rows, columns]` int4 matrix the way ModelOpt's unified HF export does
 * (`pack_int4_in_uint8`): two consecutive rows share a byte,
 * `byte[r, j] = (q[2r, j] & 0xF) | ((q[2r + 1, j] & 0xF) << 4)`, giving `[rows / 2, columns]`.
 */
export function packInt4Rows(values: Int8Array, rows: number, columns: number): Uint8Array {
  checkMatrix(values, rows, columns, 1);
  checkInt4Range(values);
  const packed = new Uint8Array((rows / 2) * columns);
  for (let pair = 0; pair < rows / 2; pair += 1) {
    const low = 2 * pair * columns;
    const high = low + columns;
    const target = pair * columns;
    for (let column = 0; column < columns; column += 1) {
      packed[target + column] = (values[low + column]! & 0xf) | ((values[high + column]! & 0xf) << 4);
    }
  }
  return packed;
}

/** Inverse of `packInt4Rows`: `[rows / 2, columns]` bytes back to a row-major `[rows, columns]` matrix. */
export function unpackInt4Rows(packed: Uint8Array, rows: number, columns: number): Int8Array {
  checkMatrix(packed, rows, columns, 2);
  const values = new Int8Array(rows * columns);
  for (let pair = 0; pair < rows / 2; pair += 1) {
    const low = 2 * pair * columns;
    const high = low + columns;
    const source = pair * columns;
    for (let column = 0; column < columns; column += 1) {
      const byte = packed[source + column]!;
      values[low + column] = signExtend(byte);
      values[high + column] = signExtend(byte >>> 4);
    }
  }
  return values;
}
