import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ModelDefinition, OnnxModelTooLargeError, serializeModel, writeModel } from '@ptq/onnx-format';

/** What `createSession` loads: bytes, or a path with external data beside it, removed by `cleanup`. */
export interface SessionModel {
  readonly model: Uint8Array | string;
  cleanup(): Promise<void>;
}

/**
 * The model in the form onnxruntime can load. Models over protobuf's 2 GiB limit (gpt2-xl in
 * float32) are written to a temporary folder with external data; onnxruntime reads the data when
 * the session is created, after which the folder can go.
 */
export async function toSessionModel(definition: ModelDefinition): Promise<SessionModel> {
  try {
    const bytes = serializeModel(definition);
    return { model: bytes, cleanup: async () => {} };
  } catch (error) {
    if (!(error instanceof OnnxModelTooLargeError)) throw error;
  }
  const folder = await mkdtemp(join(tmpdir(), 'ptq-nanogpt-'));
  const path = join(folder, 'model.onnx');
  try {
    await writeModel(definition, path, { externalData: true });
  } catch (error) {
    await rm(folder, { recursive: true, force: true });
    throw error;
  }
  return { model: path, cleanup: () => rm(folder, { recursive: true, force: true }) };
}
