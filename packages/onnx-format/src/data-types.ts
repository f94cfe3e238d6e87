import type { DType } from '@ptq/tensor';

/**
 * ONNX `TensorProto.DataType` codes of the dtypes ptq writes (onnx.proto, ONNX ≥ 1.16).
 * `isSupportedDType` and the reverse lookup derive from this table, so a dtype is added in one place.
 */
export const ONNX_DATA_TYPES: Readonly<Record<DType, number>> = {
  float32: 1,
  uint8: 2,
  int8: 3,
  int32: 6,
  int64: 7,
  bool: 9,
  float16: 10,
  bfloat16: 16,
  float8e4m3fn: 17,
  int4: 22,
};

const DTYPE_BY_ONNX_CODE: ReadonlyMap<number, DType> = new Map(
  (Object.entries(ONNX_DATA_TYPES) as [DType, number][]).map(([dtype, code]) => [code, dtype]),
);

/** True when `value` is one of the dtypes this package can serialize. */
export function isSupportedDType(value: unknown): value is DType {
  return typeof value === 'string' && Object.hasOwn(ONNX_DATA_TYPES, value);
}

/** The ONNX data type code of a dtype. */
export function onnxDataTypeOf(dtype: DType): number {
  return ONNX_DATA_TYPES[dtype];
}

/** The dtype of an ONNX data type code, or `undefined` for codes ptq does not handle (double, string…). */
export function dtypeOfOnnxDataType(code: number): DType | undefined {
  return DTYPE_BY_ONNX_CODE.get(code);
}

/** Typed array each dtype is stored in (as `@ptq/tensor` allocates it), by its tag name. */
export const STORAGE_TYPE_NAMES: Readonly<Record<DType, string>> = {
  float32: 'Float32Array',
  float16: 'Uint16Array',
  bfloat16: 'Uint16Array',
  float8e4m3fn: 'Uint8Array',
  int8: 'Int8Array',
  uint8: 'Uint8Array',
  int4: 'Uint8Array',
  int32: 'Int32Array',
  int64: 'BigInt64Array',
  bool: 'Uint8Array',
};
