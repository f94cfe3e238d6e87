import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTensor } from '@ptq/tensor';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CheckedTensorReader, exactTensor, floatTensor } from './checked-tensor-reader';
import { openSafetensorsCheckpoint } from './open-safetensors-checkpoint';
import { SafetensorsFormatError } from './safetensors-errors';
import { writeSafetensors } from './write-safetensors';

let folder: string;
beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), 'ptq-checked-reader-'));
  await writeSafetensors(join(folder, 'model.safetensors'), {
    codes: createTensor('int8', [2, 3], Int8Array.of(1, -2, 3, -4, 5, -6)),
    half: createTensor('float16', [2], Uint16Array.of(0x3c00, 0xc000)),
    extra: createTensor('float32', [1], Float32Array.of(9)),
  });
});
afterAll(async () => {
  await rm(folder, { recursive: true, force: true });
});

describe('CheckedTensorReader', () => {
  it('reads tensors that match, widening any float dtype, and lists the unread ones', async () => {
    await using checkpoint = await openSafetensorsCheckpoint(folder);
    const reader = new CheckedTensorReader(checkpoint);
    const codes = await reader.read('codes', exactTensor('int8', [2, 3]));
    expect(Array.from(codes.data as Int8Array)).toEqual([1, -2, 3, -4, 5, -6]);
    expect(Array.from(await reader.readFloat('half', [2]))).toEqual([1, -2]);
    expect(reader.has('extra')).toBe(true);
    expect(reader.has('absent')).toBe(false);
    expect(reader.fileOf('codes')).toBe(join(folder, 'model.safetensors'));
    expect(reader.unread()).toEqual(['extra']);
  });

  it('refuses a wrong dtype or shape from the header, naming file, tensor, found and expected', async () => {
    await using checkpoint = await openSafetensorsCheckpoint(folder);
    const reader = new CheckedTensorReader(checkpoint);
    const file = join(folder, 'model.safetensors');
    await expect(reader.read('codes', exactTensor('uint8', [2, 3], ' (packed)'))).rejects.toThrow(
      `${file}: tensor "codes" is int8 [2, 3]; expected uint8 [2, 3] (packed)`,
    );
    await expect(reader.readFloat('half', [1, 2], 'a scale')).rejects.toThrow(
      'tensor "half" is float16 [2]; expected a scale [1, 2]',
    );
    await expect(reader.read('codes', floatTensor([2, 3]))).rejects.toThrow(SafetensorsFormatError);
    // A refused tensor does not count as read.
    expect(reader.unread().sort()).toEqual(['codes', 'extra', 'half']);
  });

  it('names a missing tensor, and words every error through toError when given', async () => {
    await using checkpoint = await openSafetensorsCheckpoint(folder);
    const seen: string[] = [];
    const reader = new CheckedTensorReader(checkpoint, {
      toError: (file, tensor, message) => {
        seen.push(`${file}|${tensor}|${message}`);
        return new RangeError(message);
      },
    });
    await expect(reader.read('nope', exactTensor('int8', [1]))).rejects.toThrow(RangeError);
    expect(seen).toEqual([`${checkpoint.path}|nope|is missing; expected int8 [1]`]);
  });
});
