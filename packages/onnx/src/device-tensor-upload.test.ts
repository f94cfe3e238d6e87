import { InvalidArgumentError } from '@ptq/errors';
import { createTensor } from '@ptq/tensor';
import { describe, expect, it } from 'vitest';
import { DeviceTensorUpload, MAX_UPLOAD_TENSORS } from './device-tensor-upload';

const tensors = new Map([
  [
    'transformer.h.0.attn.c_attn.weight',
    createTensor('float32', [3, 2], Float32Array.of(1, -2, 3.5, 0, 1e-30, -7)),
  ],
  ['transformer.h.0.ln_1.bias', createTensor('float32', [4], Float32Array.of(0.25, -0.5, 8, 9))],
  ['scalar', createTensor('float32', [], Float32Array.of(42))],
]);

describe('DeviceTensorUpload', () => {
  it('copies every tensor through its session, under its own name, values and shape unchanged', async () => {
    const upload = await DeviceTensorUpload.create(tensors, 'cpu', { throughSession: true });
    try {
      expect([...upload.tensors.keys()]).toEqual([...tensors.keys()]);
      for (const [name, tensor] of tensors) {
        const copied = upload.tensors.get(name)!;
        expect(copied.dims, name).toEqual(tensor.shape);
        expect(copied.data, name).toEqual(tensor.data);
        // A copy made by the session, not the host tensor fed to it.
        expect((copied.data as Float32Array).buffer).not.toBe(tensor.data.buffer);
      }
    } finally {
      await upload.release();
      await upload.release();
    }
  });

  it('feeds host tensors as they are on the CPU', async () => {
    const upload = await DeviceTensorUpload.create(tensors, 'cpu');
    const weight = upload.tensors.get('transformer.h.0.attn.c_attn.weight')!;
    expect(weight.data).toBe(tensors.get('transformer.h.0.attn.c_attn.weight')!.data);
    await upload.release();
  });

  it('refuses more tensors than one session takes', async () => {
    const many = new Map(
      Array.from({ length: MAX_UPLOAD_TENSORS + 1 }, (_, index) => [
        `t${index}`,
        createTensor('float32', [1], Float32Array.of(index)),
      ]),
    );
    await expect(DeviceTensorUpload.create(many, 'cpu')).rejects.toThrow(InvalidArgumentError);
  });
});
