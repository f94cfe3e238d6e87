import { join } from 'node:path';
import { InvalidArgumentError } from '@ptq/errors';
import { listFiles } from './list-files';
import { ONNX_SUBFOLDER } from './onnx-model-file';

/** The `.onnx` files of an export's `onnx/` folder, relative to the export (`onnx/model_q4.onnx`). */
export async function onnxModelFiles(directory: string): Promise<string[]> {
  let files: string[];
  try {
    files = await listFiles(join(directory, ONNX_SUBFOLDER));
  } catch {
    return [];
  }
  return files
    .filter((name) => name.endsWith('.onnx') && !name.includes('/'))
    .map((name) => `${ONNX_SUBFOLDER}/${name}`);
}

/** The model file to open: `requested` when the folder has it, else the only one there is. */
export async function findOnnxModelFile(directory: string, requested: string | undefined): Promise<string> {
  const files = await onnxModelFiles(directory);
  if (requested !== undefined) {
    if (!files.includes(requested)) {
      throw new InvalidArgumentError(
        'modelFile',
        `${directory} has no ${requested}; it has ${files.join(', ') || 'no ONNX model'}`,
      );
    }
    return requested;
  }
  if (files.length !== 1) {
    throw new InvalidArgumentError(
      'modelFile',
      files.length === 0
        ? `${directory} has no ${ONNX_SUBFOLDER}/*.onnx model`
        : `${directory} holds several ONNX models (${files.join(', ')}); name one`,
    );
  }
  return files[0]!;
}
