export {
  bfloat16BitsToFloat32,
  bfloat16ToFloat32Array,
  float32ArrayToBfloat16,
  float32BitsToBfloat16Bits,
  float32ToBfloat16Bits,
} from './bfloat16';
export { castOnce } from './cast-once';
export {
  type CastOptions,
  castTensor,
  FLOAT_DTYPES,
  type FloatDType,
  isFloatDType,
  toFloat32,
} from './convert';
export { firstNonFinite, firstNonFiniteFloat16 } from './first-non-finite';
export {
  FLOAT8_E4M3FN_MAX,
  type Float8ArrayOptions,
  type Float8Options,
  float8E4M3FNBitsToFloat32,
  float8E4M3FNToFloat32Array,
  float32ArrayToFloat8E4M3FN,
  float32BitsToFloat8E4M3FNBits,
  float32ToFloat8E4M3FNBits,
} from './float8-e4m3fn';
export {
  FLOAT16_MAX,
  float16BitsToFloat32,
  float16ToFloat32Array,
  float32ArrayToFloat16,
  float32BitsToFloat16Bits,
  float32ToFloat16Bits,
} from './float16';
export { bitsToFloat32, float32BitsView, float32ToBits } from './float32-bits';
export { INT4_MAX, INT4_MIN, packInt4, packInt4Rows, unpackInt4, unpackInt4Rows } from './int4';
export { heldTensor, isReloadableTensor, ReloadableTensor, releaseTensor } from './reloadable-tensor';
export {
  allocateStorage,
  byteLengthOf,
  createTensor,
  DTYPE_BITS,
  DTYPES,
  type DType,
  type DTypeStorage,
  numElements,
  storageLengthOf,
  type Tensor,
  type TensorData,
  tensorBytes,
} from './tensor';
export {
  type MatrixStorage,
  transposeMatrix,
  transposeMatrixInPlace,
  transposeMatrixInto,
  transposeTensor,
} from './transpose';
export { createXoshiro128, type RandomSource, xoshiro128FromState } from './xoshiro128';
