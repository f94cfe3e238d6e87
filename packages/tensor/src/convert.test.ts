import { InvalidArgumentError } from '@ptq/errors';
import { describe, expect, it } from 'vitest';
import { castTensor, toFloat32 } from './convert';
import { createTensor, type DType } from './tensor';

describe('toFloat32', () => {
  it('copies float32 data', () => {
    const data = new Float32Array([1.5, -2]);
    const result = toFloat32(createTensor('float32', [2], data));
    expect([...result]).toEqual([1.5, -2]);
    expect(result).not.toBe(data);
  });

  it('decodes float16, bfloat16 and float8e4m3fn bits', () => {
    expect([...toFloat32(createTensor('float16', [3], Uint16Array.from([0x3c00, 0xc000, 0x7bff])))]).toEqual([
      1, -2, 65504,
    ]);
    expect([...toFloat32(createTensor('bfloat16', [2], Uint16Array.from([0x3f80, 0xc040])))]).toEqual([
      1, -3,
    ]);
    expect([...toFloat32(createTensor('float8e4m3fn', [3], Uint8Array.from([0x38, 0xfe, 0x01])))]).toEqual([
      1,
      -448,
      2 ** -9,
    ]);
  });

  it('unpacks and sign-extends int4', () => {
    expect([...toFloat32(createTensor('int4', [3], Uint8Array.from([0xf1, 0x07])))]).toEqual([1, -1, 7]);
  });

  it('converts integer and bool dtypes', () => {
    expect([...toFloat32(createTensor('int8', [2], Int8Array.from([-128, 127])))]).toEqual([-128, 127]);
    expect([...toFloat32(createTensor('uint8', [2], Uint8Array.from([0, 255])))]).toEqual([0, 255]);
    // 2^24 + 1 is not a float32; it rounds to the even neighbour 2^24.
    expect([...toFloat32(createTensor('int32', [2], Int32Array.from([-7, 2 ** 24 + 1])))]).toEqual([
      -7,
      2 ** 24,
    ]);
    expect([...toFloat32(createTensor('int64', [2], BigInt64Array.from([-(2n ** 40n), 5n])))]).toEqual([
      -(2 ** 40),
      5,
    ]);
    expect([...toFloat32(createTensor('bool', [3], Uint8Array.from([0, 1, 2])))]).toEqual([0, 1, 1]);
  });

  it('keeps the element count of every dtype', () => {
    const dtypes: DType[] = [
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
    for (const dtype of dtypes) {
      expect(toFloat32(createTensor(dtype, [3, 5])).length, dtype).toBe(15);
    }
  });
});

describe('castTensor', () => {
  it('encodes float32 to each float dtype and keeps the shape', () => {
    const source = createTensor('float32', [2, 2], Float32Array.from([1, -2.5, 65520, 1000]));
    expect([...castTensor(source, 'float16').data]).toEqual([0x3c00, 0xc100, 0x7c00, 0x63d0]);
    expect([...castTensor(source, 'bfloat16').data]).toEqual([0x3f80, 0xc020, 0x4780, 0x447a]);
    const float8 = castTensor(source, 'float8e4m3fn');
    expect(float8.shape).toEqual([2, 2]);
    expect(float8.dtype).toBe('float8e4m3fn');
    expect([...float8.data]).toEqual([0x38, 0xc2, 0x7e, 0x7e]);
    expect([...castTensor(source, 'float8e4m3fn', { saturate: false }).data]).toEqual([
      0x38, 0xc2, 0x7f, 0x7f,
    ]);
  });

  it('rounds once when converting between 16-bit formats', () => {
    // float16 1 + 2^-10 lies between bfloat16 1 and 1 + 2^-7 and is nearer 1.
    const half = createTensor('float16', [1], Uint16Array.from([0x3c01]));
    expect([...castTensor(half, 'bfloat16').data]).toEqual([0x3f80]);
    // float8 448 is exact in float16.
    const float8 = createTensor('float8e4m3fn', [1], Uint8Array.from([0x7e]));
    expect([...castTensor(float8, 'float16').data]).toEqual([0x5f00]);
    expect([...castTensor(half, 'float32').data]).toEqual([1 + 2 ** -10]);
  });

  it('reads a float32 source of a view in place and leaves it as it was', () => {
    // A view into a larger buffer, as loaded weights are: the cast reads only its own elements.
    const buffer = Float32Array.from([7, 1, -2.5, 1000, 9]);
    const source = createTensor('float32', [3], buffer.subarray(1, 4));
    const half = castTensor(source, 'float16');
    expect([...half.data]).toEqual([0x3c00, 0xc100, 0x63d0]);
    expect([...buffer]).toEqual([7, 1, -2.5, 1000, 9]);
    const copy = castTensor(source, 'float32');
    expect(copy.data).not.toBe(source.data);
    expect([...copy.data]).toEqual([1, -2.5, 1000]);
  });

  it('copies on a same-dtype cast', () => {
    const source = createTensor('float16', [1], Uint16Array.from([0x3c00]));
    const copy = castTensor(source, 'float16');
    expect([...copy.data]).toEqual([0x3c00]);
    expect(copy.data).not.toBe(source.data);
  });

  it('rejects non-float sources and targets', () => {
    expect(() => castTensor(createTensor('int8', [1]), 'float16')).toThrow(InvalidArgumentError);
    expect(() => castTensor(createTensor('int8', [1]), 'float16')).toThrow(/got a tensor of dtype int8/);
    expect(() => castTensor(createTensor('float32', [1]), 'int8' as 'float16')).toThrow(/dtype.*got int8/);
  });
});
