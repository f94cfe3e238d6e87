import { allocateStorage, DTYPES, type DType } from '@ptq/tensor';
import { describe, expect, it } from 'vitest';
import {
  dtypeOfOnnxDataType,
  isSupportedDType,
  ONNX_DATA_TYPES,
  onnxDataTypeOf,
  ortTypeOf,
  STORAGE_TYPE_NAMES,
} from './data-types';

describe('dtype tables', () => {
  // TensorProto.DataType values from onnx.proto.
  it.each<[DType, number, string]>([
    ['float32', 1, 'float32'],
    ['uint8', 2, 'uint8'],
    ['int8', 3, 'int8'],
    ['int32', 6, 'int32'],
    ['int64', 7, 'int64'],
    ['bool', 9, 'bool'],
    ['float16', 10, 'float16'],
    ['bfloat16', 16, 'uint16'],
    ['float8e4m3fn', 17, 'uint8'],
    ['int4', 22, 'int4'],
  ])('%s is ONNX data type %i and onnxruntime type %s', (dtype, code, ortType) => {
    expect(onnxDataTypeOf(dtype)).toBe(code);
    expect(dtypeOfOnnxDataType(code)).toBe(dtype);
    expect(ortTypeOf(dtype)).toBe(ortType);
    expect(isSupportedDType(dtype)).toBe(true);
  });

  it('covers every ptq dtype exactly once', () => {
    expect(Object.keys(ONNX_DATA_TYPES).sort()).toEqual([...DTYPES].sort());
    expect(new Set(Object.values(ONNX_DATA_TYPES)).size).toBe(DTYPES.length);
  });

  it('knows no other data types', () => {
    // UNDEFINED, UINT16, INT16, STRING, DOUBLE, UINT32, UINT64, COMPLEX64/128, FLOAT8 variants, UINT4, and beyond.
    for (const code of [0, 4, 5, 8, 11, 12, 13, 14, 15, 18, 19, 20, 21, 23, 24, -1]) {
      expect(dtypeOfOnnxDataType(code)).toBeUndefined();
    }
    for (const value of ['float64', 'toString', '__proto__', '', 1, undefined]) {
      expect(isSupportedDType(value)).toBe(false);
    }
  });

  it.each(DTYPES)('names the typed array @ptq/tensor stores %s in', (dtype) => {
    expect(STORAGE_TYPE_NAMES[dtype]).toBe(allocateStorage(dtype, 1).constructor.name);
  });
});
