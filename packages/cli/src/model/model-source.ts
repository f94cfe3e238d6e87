import { stat } from 'node:fs/promises';
import path from 'node:path';
import { DEFAULT_MODEL_DIR } from '@ptq/default-model';
import { looksLikePath, ModelNotFoundError } from '@ptq/hf-gpt2';
import type { ReadableExport } from './export-formats';

/** What `--model` names. */
export type ModelSource = HuggingFaceSource | ExportSource;

/** A Hugging Face GPT-2: a local folder or a hub repo id (resolved through the hub cache). */
export interface HuggingFaceSource {
  readonly kind: 'huggingface';
  /** The folder or repo id as given (the bundled model's folder by default). */
  readonly location: string;
  /** How messages name it. */
  readonly label: string;
  readonly bundled: boolean;
}

/** A folder `ptq quantize` wrote (or ModelOpt's own unified checkpoint). */
export interface ExportSource {
  readonly kind: 'export';
  readonly folder: string;
  readonly label: string;
  readonly format: ReadableExport;
}

/**
 * Sorts out `--model`: the bundled model when absent; a folder that is an export (asked through
 * `detect`) or a Hugging Face folder; otherwise a hub repo id. A path that does not exist fails
 * here, before any work, with the hf-gpt2 loader's own error.
 */
export async function resolveModelSource(
  model: string,
  detect: (folder: string) => Promise<ReadableExport | undefined>,
): Promise<ModelSource> {
  const bundled = path.resolve(model) === path.resolve(DEFAULT_MODEL_DIR);
  const stats = await stat(model).catch(() => undefined);
  if (stats?.isDirectory()) {
    const folder = path.resolve(model);
    const format = bundled ? undefined : await detect(folder);
    if (format !== undefined) return { kind: 'export', folder, label: model, format };
    return { kind: 'huggingface', location: folder, label: bundled ? 'the bundled model' : model, bundled };
  }
  if (stats !== undefined) {
    throw new ModelNotFoundError(model, 'is a file; pass the folder that holds config.json and the weights');
  }
  if (looksLikePath(model)) {
    throw new ModelNotFoundError(model, 'no such folder (and it is not a Hugging Face repo id)');
  }
  return { kind: 'huggingface', location: model, label: model, bundled: false };
}
