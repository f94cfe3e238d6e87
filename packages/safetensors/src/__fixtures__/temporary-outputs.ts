import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DTYPES, type DType } from '@ptq/tensor';
import { afterAll, beforeAll } from 'vitest';

/** Every dtype the writers store (all but the packed int4). */
export const WRITABLE_DTYPES: readonly DType[] = DTYPES.filter((dtype) => dtype !== 'int4');

/** A test file's output folder (`folder`, set before its tests run) and fresh file names in it. */
export interface TemporaryOutputs {
  folder: string;
  /** A new `<stem>-<n>.safetensors` path in the folder. */
  nextPath(): string;
}

/** Makes a temporary folder before a test file's tests and removes it after them. */
export function temporaryOutputs(prefix: string, stem: string): TemporaryOutputs {
  let count = 0;
  const outputs: TemporaryOutputs = {
    folder: '',
    nextPath: () => join(outputs.folder, `${stem}-${count++}.safetensors`),
  };
  beforeAll(async () => {
    outputs.folder = await mkdtemp(join(tmpdir(), prefix));
  });
  afterAll(async () => {
    await rm(outputs.folder, { recursive: true, force: true });
  });
  return outputs;
}
