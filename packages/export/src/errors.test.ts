import { PtqError } from '@ptq/errors';
import { describe, expect, it } from 'vitest';
import { CheckpointTensorError, ExportTargetExistsError, ExportTargetProtectedError } from './errors';

describe('export errors', () => {
  it('each class recognises itself and its subclasses, never a sibling', () => {
    const protectedTarget = new ExportTargetProtectedError('/models/gpt2', 'it is the model folder');
    const exists = new ExportTargetExistsError('/out');
    const tensor = new CheckpointTensorError('/m/model.safetensors', 'wte.weight', 'is missing');
    expect(ExportTargetProtectedError.isInstance(protectedTarget)).toBe(true);
    expect(ExportTargetExistsError.isInstance(protectedTarget)).toBe(true);
    expect(ExportTargetProtectedError.isInstance(exists)).toBe(false);
    expect(ExportTargetExistsError.isInstance(tensor)).toBe(false);
    expect(CheckpointTensorError.isInstance(tensor)).toBe(true);
    expect(PtqError.isInstance(tensor)).toBe(true);
    expect([exists.code, protectedTarget.code, tensor.code]).toEqual([
      'PTQ_EXPORT_TARGET_EXISTS',
      'PTQ_EXPORT_TARGET_PROTECTED',
      'PTQ_MODELOPT_TENSOR',
    ]);
  });
});
