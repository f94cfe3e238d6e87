import { allocateStorage, DTYPES, type DType } from '@ptq/tensor';
import { describe, expect, it } from 'vitest';
import {
  dtypeOfOnnxDataType,
  isSupportedDType,
  ONNX_DATA_TYPES,
  onnxDataTypeOf,
  STORAGE_TYPE_NAMES,
} from './data-types';

describe('dtype tables', () => {
  // TensorProto.DataType values from onnx.proto.
  it.each<[DType, number]>([
    ['float32', 1],
    ['uint8', 2],
    ['int8', 3],
    ['int32', 6],
    ['int64', 7],
    ['bool', 9],
    ['float16', 10],
    ['bfloat16', 16],
    ['float8e4m3fn', 17],
    ['int4', 22],
  ])('%s is ONNX data type %i', (dtype, code) => {
    expect(onnxDataTypeOf(dtype)).toBe(code);
    expect(dtypeOfOnnxDataType(code)).toBe(dtype);
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
