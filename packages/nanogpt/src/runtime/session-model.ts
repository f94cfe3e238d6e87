import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onTemporaryCleanup } from '@ptq/files';
import { type ModelDefinition, OnnxModelTooLargeError, serializeModel, writeModel } from '@ptq/onnx-format';

/** What `createSession` loads: bytes, or a path with external data beside it, removed by `cleanup`. */
export interface SessionModel {
  readonly model: Uint8Array | string;
  cleanup(): Promise<void>;
}

export interface SessionModelOptions {
  /**
   * Initializer bytes above which the model is written with external data even under protobuf's
   * limit (default: only over the limit). onnxruntime then reads each weight from the file into its
   * own memory, where serialized bytes would be held twice while the session is made (once in
   * JavaScript, once parsed): for a model made a segment at a time beside a loaded checkpoint, the
   * peak memory of GPT-2-large's perplexity check went from 5.06 GB to 4.67 GB.
   */
  readonly externalDataAbove?: number;
}

/**
 * The model in the form onnxruntime can load. Models over protobuf's 2 GiB limit (gpt2-xl in
 * float32), or over `externalDataAbove`, are written to a temporary folder with external data;
 * onnxruntime reads the data when the session is created, after which the folder can go.
 */
export async function toSessionModel(
  definition: ModelDefinition,
  options: SessionModelOptions = {},
): Promise<SessionModel> {
  const limit = options.externalDataAbove;
  const optional = limit !== undefined && initializerBytes(definition) > limit;
  if (!optional) {
    try {
      return inMemory(definition);
    } catch (error) {
      if (!(error instanceof OnnxModelTooLargeError)) throw error;
    }
  }
  try {
    return await withExternalData(definition);
  } catch (error) {
    // A file asked for only to save memory: where it cannot be written (a full or read-only
    // temporary folder), the model goes to onnxruntime as bytes, as a smaller one would.
    if (!optional) throw error;
    try {
      return inMemory(definition);
    } catch (bytesError) {
      if (bytesError instanceof OnnxModelTooLargeError) throw error;
      throw bytesError;
    }
  }
}

function inMemory(definition: ModelDefinition): SessionModel {
  return { model: serializeModel(definition), cleanup: async () => {} };
}

/**
 * The model written with external data to a fresh temporary folder, which a SIGINT or SIGTERM
 * handler running `@ptq/files`' `removeTemporaryOutputs` removes too.
 */
async function withExternalData(definition: ModelDefinition): Promise<SessionModel> {
  const folder = await mkdtemp(join(tmpdir(), 'ptq-nanogpt-'));
  const unregister = onTemporaryCleanup(() => rmSync(folder, { recursive: true, force: true }));
  const remove = async () => {
    unregister();
    await rm(folder, { recursive: true, force: true });
  };
  const path = join(folder, 'model.onnx');
  try {
    await writeModel(definition, path, { externalData: true });
  } catch (error) {
    await remove();
    throw error;
  }
  return { model: path, cleanup: remove };
}

function initializerBytes(definition: ModelDefinition): number {
  return definition.graph.initializers.reduce((sum, { tensor }) => sum + tensor.data.byteLength, 0);
}
