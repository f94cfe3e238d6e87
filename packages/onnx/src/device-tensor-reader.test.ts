import { InvalidArgumentError } from '@ptq/errors';
import { Tensor as OrtTensor } from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { DeviceTensorReader, MAX_READ_TENSORS } from './device-tensor-reader';

const reader = new DeviceTensorReader('cpu');
afterAll(() => reader.release());

const token = (value: number) => new OrtTensor('int64', BigInt64Array.of(BigInt(value)), [1, 1]);

describe('DeviceTensorReader', () => {
  it('joins tensors along an axis in one read', async () => {
    const joined = await reader.read([token(7), token(50256), token(0)], 1);
    expect(joined.dims).toEqual([1, 3]);
    expect(Array.from(joined.data as BigInt64Array, Number)).toEqual([7, 50256, 0]);
  });

  it('reads one tensor of any shape as it is', async () => {
    const values = Float32Array.from({ length: 24 }, (_, index) => index / 8 - 1);
    const joined = await reader.read([new OrtTensor('float32', values, [1, 2, 12])]);
    expect(joined.dims).toEqual([1, 2, 12]);
    expect(joined.data).toEqual(values);
    // Another shape of the same rank goes through the same session.
    const other = await reader.read([new OrtTensor('float32', values.subarray(0, 12), [1, 1, 12])]);
    expect(other.dims).toEqual([1, 1, 12]);
  });

  it('joins along the first axis by default, keeping order', async () => {
    const rows = [
      new OrtTensor('float16', Uint16Array.of(0x3c00, 0x4000), [1, 2]),
      new OrtTensor('float16', Uint16Array.of(0xc000, 0x7bff), [1, 2]),
    ];
    const joined = await reader.read(rows);
    expect(joined.dims).toEqual([2, 2]);
    expect(Array.from(joined.data as Uint16Array)).toEqual([0x3c00, 0x4000, 0xc000, 0x7bff]);
  });

  it('refuses empty, oversized, mixed and out-of-range requests', async () => {
    await expect(reader.read([])).rejects.toThrow(InvalidArgumentError);
    const many = Array.from({ length: MAX_READ_TENSORS + 1 }, () => token(1));
    await expect(reader.read(many, 1)).rejects.toThrow(/1 to 1024 tensors, got 1025/);
    const mixed = [token(1), new OrtTensor('float32', Float32Array.of(1), [1, 1])];
    await expect(reader.read(mixed, 1)).rejects.toThrow(/tensor 1 is float32 of rank 2/);
    await expect(reader.read([token(1)], 2)).rejects.toThrow(/axis/);
  });

  it('cannot be used once released', async () => {
    const released = new DeviceTensorReader('cpu');
    await released.read([token(3)], 1);
    await released.release();
    await expect(released.read([token(3)], 1)).rejects.toThrow(/released/);
  });
});
