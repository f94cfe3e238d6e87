import {
  detectExport,
  exportModelOptCheckpoint,
  exportOnnx,
  removeTemporaryOutputs,
  UnknownExportError,
} from '@ptq/export';
import { GPT, type ModelDType } from '@ptq/nanogpt';
import type { QuantizedModel } from '@ptq/quant-core';
import { gptConfigFromHf, quantizedStateToRuntime } from '@ptq/tripy-loader';
import type { ExportFormatName } from '../options/common-options';
import { folderFiles } from '../paths/folder-size';
import { setSignalCleanup } from '../signals/exit-on-signal';

export interface WriteExportOptions {
  readonly outDir: string;
  /** The Hugging Face folder the model came from (config, tokenizer and generation config are copied). */
  readonly sourceDir: string;
  readonly overwrite: boolean;
  /** Element type of the ONNX graph's float weights and activations. */
  readonly dtype: ModelDType;
}

export interface WrittenExport {
  readonly directory: string;
  /** Relative paths, sorted. */
  readonly files: string[];
  readonly bytes: number;
  /** ONNX exports: the model file (`onnx/model_q4.onnx`) and the transformers.js dtype that loads it. */
  readonly modelFile?: string;
  readonly transformersDtype?: string | undefined;
}

/** Writes a quantized model in a format; the folder appears whole or not at all. */
export async function writeExport(
  format: ExportFormatName,
  quantized: QuantizedModel,
  options: WriteExportOptions,
): Promise<WrittenExport> {
  // Ctrl-C or SIGTERM while writing removes the half-written temporary folder.
  setSignalCleanup(removeTemporaryOutputs);
  if (format === 'modelopt-hf') {
    const { directory } = await exportModelOptCheckpoint(quantized, options.outDir, {
      sourceDir: options.sourceDir,
      overwrite: options.overwrite,
    });
    return { directory, ...(await folderFiles(directory)) };
  }
  // ONNX holds the runtime model: the quantized HF model's weights and scales, as the loader maps them.
  const gpt = new GPT(
    gptConfigFromHf(quantized.model.config, { dtype: options.dtype, quantMode: quantized.mode }),
  );
  gpt.loadStateDict(quantizedStateToRuntime(quantized, options.dtype), { strict: true });
  const written = await exportOnnx(gpt, options.outDir, {
    sourceDir: options.sourceDir,
    format,
    overwrite: options.overwrite,
  });
  return {
    directory: written.directory,
    ...(await folderFiles(written.directory)),
    modelFile: written.modelFile,
    transformersDtype: written.transformersDtype,
  };
}

/** The exports `generate`, `eval` and `inspect` read from a folder. */
export type ReadableExport = 'modelopt-hf' | 'onnx';

/** Which export a folder holds; undefined for a plain Hugging Face folder (or anything else). */
export async function detectExportFolder(folder: string): Promise<ReadableExport | undefined> {
  try {
    const format = await detectExport(folder);
    return format === 'hf' ? undefined : format;
  } catch (error) {
    // Not an export: the Hugging Face loader reports what the folder lacks.
    if (error instanceof UnknownExportError) return undefined;
    throw error;
  }
}
