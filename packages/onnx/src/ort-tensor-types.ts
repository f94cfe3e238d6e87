import type { DType } from '@ptq/tensor';

/** Tensor element types onnxruntime-node's `Tensor` carries. */
export type OrtTensorType =
  | 'float32'
  | 'float16'
  | 'uint16'
  | 'uint8'
  | 'int8'
  | 'int4'
  | 'int32'
  | 'int64'
  | 'bool';

/**
 * The onnxruntime-node tensor type each dtype travels as. onnxruntime-node has no bfloat16 or
 * float8 tensor type, so those cross the boundary as their raw bits (`uint16`, `uint8`).
 */
export const ORT_TENSOR_TYPES: Readonly<Record<DType, OrtTensorType>> = {
  float32: 'float32',
  float16: 'float16',
  bfloat16: 'uint16',
  float8e4m3fn: 'uint8',
  int8: 'int8',
  uint8: 'uint8',
  int4: 'int4',
  int32: 'int32',
  int64: 'int64',
  bool: 'bool',
};

/** The dtype each onnxruntime-node tensor type is read back as, unless the caller names another. */
export const DTYPE_BY_ORT_TENSOR_TYPE: Readonly<Partial<Record<string, DType>>> = {
  float32: 'float32',
  float16: 'float16',
  uint8: 'uint8',
  int8: 'int8',
  int4: 'int4',
  int32: 'int32',
  int64: 'int64',
  bool: 'bool',
};

/** The onnxruntime-node tensor type a dtype is handed to a session as. */
export function ortTypeOf(dtype: DType): OrtTensorType {
  return ORT_TENSOR_TYPES[dtype];
}
