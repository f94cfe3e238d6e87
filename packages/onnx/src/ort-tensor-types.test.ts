import { DTYPES, type DType } from '@ptq/tensor';
import { describe, expect, it } from 'vitest';
import { DTYPE_BY_ORT_TENSOR_TYPE, ORT_TENSOR_TYPES, ortTypeOf } from './ort-tensor-types';

describe('onnxruntime tensor types', () => {
  // onnxruntime-node has no bfloat16 or float8 tensor type: those travel as their bits.
  it.each<[DType, string]>([
    ['float32', 'float32'],
    ['uint8', 'uint8'],
    ['int8', 'int8'],
    ['int32', 'int32'],
    ['int64', 'int64'],
    ['bool', 'bool'],
    ['float16', 'float16'],
    ['bfloat16', 'uint16'],
    ['float8e4m3fn', 'uint8'],
    ['int4', 'int4'],
  ])('%s is onnxruntime type %s', (dtype, ortType) => {
    expect(ortTypeOf(dtype)).toBe(ortType);
  });

  it('covers every ptq dtype', () => {
    expect(Object.keys(ORT_TENSOR_TYPES).sort()).toEqual([...DTYPES].sort());
  });

  it('reads every onnxruntime type back as the dtype of the same name, bit carriers aside', () => {
    expect(DTYPE_BY_ORT_TENSOR_TYPE).toEqual({
      float32: 'float32',
      float16: 'float16',
      uint8: 'uint8',
      int8: 'int8',
      int4: 'int4',
      int32: 'int32',
      int64: 'int64',
      bool: 'bool',
    });
    expect(DTYPE_BY_ORT_TENSOR_TYPE.uint16).toBeUndefined();
  });
});
