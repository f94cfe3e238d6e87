import { InvalidArgumentError } from '@ptq/errors';

/** Element types ptq moves between checkpoints, ONNX graphs and exports. */
export type DType =
  | 'float32'
  | 'float16'
  | 'bfloat16'
  | 'float8e4m3fn'
  | 'int8'
  | 'uint8'
  | 'int4'
  | 'int32'
  | 'int64'
  | 'bool';

export const DTYPES: readonly DType[] = [
  'float32',
  'float16',
  'bfloat16',
  'float8e4m3fn',
  'int8',
  'uint8',
  'int4',
  'int32',
  'int64',
  'bool',
];

/**
 * Storage per dtype. 16-bit and 8-bit floats are held as raw bit patterns (Node 20 has no
 * Float16Array, and onnxruntime-node takes float16 as Uint16Array). int4 is packed two elements
 * per byte, low nibble first (the ONNX layout), so its byte length is ceil(n / 2).
 */
export interface DTypeStorage {
  float32: Float32Array;
  float16: Uint16Array;
  bfloat16: Uint16Array;
  float8e4m3fn: Uint8Array;
  int8: Int8Array;
  uint8: Uint8Array;
  int4: Uint8Array;
  int32: Int32Array;
  int64: BigInt64Array;
  bool: Uint8Array;
}

export type TensorData = DTypeStorage[DType];

export interface Tensor<D extends DType = DType> {
  readonly dtype: D;
  readonly shape: readonly number[];
  readonly data: DTypeStorage[D];
}

/** Bits per element of each dtype. */
export const DTYPE_BITS: Readonly<Record<DType, number>> = {
  float32: 32,
  float16: 16,
  bfloat16: 16,
  float8e4m3fn: 8,
  int8: 8,
  uint8: 8,
  int4: 4,
  int32: 32,
  int64: 64,
  bool: 8,
};

/** Number of elements of a shape; the empty shape is a scalar with one element. */
export function numElements(shape: readonly number[]): number {
  let count = 1;
  for (const dimension of shape) {
    if (!Number.isSafeInteger(dimension) || dimension < 0) {
      throw new InvalidArgumentError(
        'shape',
        `dimensions must be non-negative integers, got [${shape.join(', ')}]`,
      );
    }
    count *= dimension;
  }
  return count;
}

/** Bytes needed to store `count` elements of `dtype` (int4 rounds up to whole bytes). */
export function byteLengthOf(dtype: DType, count: number): number {
  return Math.ceil((count * DTYPE_BITS[dtype]) / 8);
}

/** Length of the typed array that stores `count` elements of `dtype`. */
export function storageLengthOf(dtype: DType, count: number): number {
  return dtype === 'int4' ? Math.ceil(count / 2) : count;
}

/** A zero-filled typed array for `count` elements of `dtype`. */
export function allocateStorage<D extends DType>(dtype: D, count: number): DTypeStorage[D] {
  const length = storageLengthOf(dtype, count);
  switch (dtype) {
    case 'float32':
      return new Float32Array(length) as DTypeStorage[D];
    case 'float16':
    case 'bfloat16':
      return new Uint16Array(length) as DTypeStorage[D];
    case 'int8':
      return new Int8Array(length) as DTypeStorage[D];
    case 'int32':
      return new Int32Array(length) as DTypeStorage[D];
    case 'int64':
      return new BigInt64Array(length) as DTypeStorage[D];
    default:
      return new Uint8Array(length) as DTypeStorage[D];
  }
}

/**
 * Makes a tensor, checking that `data` has the storage type and length the dtype and shape need.
 * Without `data`, the tensor is zero-filled.
 */
export function createTensor<D extends DType>(
  dtype: D,
  shape: readonly number[],
  data?: DTypeStorage[D],
): Tensor<D> {
  const count = numElements(shape);
  const expectedLength = storageLengthOf(dtype, count);
  const storage = data ?? allocateStorage(dtype, count);
  const expectedType = allocateStorage(dtype, 0).constructor;
  if (storage.constructor !== expectedType) {
    throw new InvalidArgumentError(
      'data',
      `a ${dtype} tensor needs a ${expectedType.name}, got ${storage.constructor.name}`,
    );
  }
  if (storage.length !== expectedLength) {
    throw new InvalidArgumentError(
      'data',
      `a ${dtype} tensor of shape [${shape.join(', ')}] needs ${expectedLength} storage elements, got ${storage.length}`,
    );
  }
  return { dtype, shape: [...shape], data: storage };
}

/** The storage bytes of a tensor as a Uint8Array view (little-endian, as on every platform Node runs on). */
export function tensorBytes(tensor: Tensor): Uint8Array {
  const { data } = tensor;
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}
