import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { InvalidArgumentError } from '@ptq/errors';
import { readGpt2Config } from '@ptq/hf-gpt2';
import { buildGptGraph, defaultWeightFormat, type GPT, type WeightFormat } from '@ptq/nanogpt';
import { MAX_PROTOBUF_BYTES, type ModelDefinition, writeModel } from '@ptq/onnx-format';
import { UnsupportedExportError } from './errors';
import type { ExportResult } from './export-modelopt-checkpoint';
import { float8ActivationsToQdq } from './float8-activations-to-qdq';
import { listFiles } from './list-files';
import { CONFIG_FILE, checkTokenizerFiles, copyTokenizerAndGenerationFiles, writeJson } from './model-files';
import { ONNX_EXPORT_FORMATS, ONNX_SUBFOLDER, type OnnxExportFormat, onnxModelFile } from './onnx-model-file';
import { PRODUCER } from './producer';
import { writeDirectoryAtomically } from './write-directory-atomically';

export interface ExportOnnxOptions {
  /** The Hugging Face folder of the model: its `config.json`, tokenizer files and `generation_config.json` are used. */
  readonly sourceDir: string;
  /** Default 'onnx'. */
  readonly format?: OnnxExportFormat;
  /**
   * Replace an earlier ptq output at `outDir` (default false: refuse it). A folder holding anything
   * ptq did not write, the working folder and `sourceDir` are never replaced (see
   * `writeDirectoryAtomically`).
   */
  readonly overwrite?: boolean;
  /**
   * Store initializers in `<model file>_data` beside the model. Default 'auto': only when the graph
   * would pass protobuf's 2 GiB limit (gpt2-large and larger in float32).
   */
  readonly externalData?: boolean | 'auto';
}

export interface OnnxExportResult extends ExportResult {
  /** The model file, relative to the folder (`onnx/model_q4.onnx`). */
  readonly modelFile: string;
  /** The transformers.js `dtype` that loads it, when one exists. */
  readonly transformersDtype: string | undefined;
  /** Whether the initializers are in `<model file>_data`. */
  readonly externalData: boolean;
}

// Room for the graph's nodes and small tensors next to the initializers.
const INLINE_LIMIT_BYTES = MAX_PROTOBUF_BYTES - 64 * 1024 * 1024;

function initializerBytes(model: ModelDefinition): number {
  return model.graph.initializers.reduce((total, { tensor }) => total + tensor.data.byteLength, 0);
}

/** The weight storage of each format: what the runtime runs on CPU, or explicit DequantizeLinear for TensorRT. */
function weightFormatFor(gpt: GPT, format: OnnxExportFormat): WeightFormat | undefined {
  const { quantMode } = gpt.config;
  if (quantMode === undefined) return undefined;
  return format === 'onnx-qdq' ? 'dequantize-linear' : defaultWeightFormat(quantMode, 'cpu');
}

/** The graph an export writes (see `exportOnnx`), without writing it. */
export function exportedOnnxGraph(gpt: GPT, format: OnnxExportFormat = 'onnx'): ModelDefinition {
  if (!ONNX_EXPORT_FORMATS.includes(format)) {
    throw new InvalidArgumentError(
      'format',
      `must be one of ${ONNX_EXPORT_FORMATS.join(', ')}, got ${String(format)}`,
    );
  }
  if (format === 'onnx-qdq' && gpt.config.quantMode === undefined) {
    throw new UnsupportedExportError(
      'an unquantized model has no quantize / dequantize pairs; export it with format "onnx"',
    );
  }
  const weightFormat = weightFormatFor(gpt, format);
  const graph = buildGptGraph(gpt, { weightFormat });
  const model = format === 'onnx-qdq' ? float8ActivationsToQdq(graph) : graph;
  return {
    ...model,
    metadata: {
      ...model.metadata,
      'ptq.export_format': format,
      'ptq.producer_version': PRODUCER.version,
    },
  };
}

/**
 * Writes the runtime GPT as ONNX with the Hugging Face files beside it.
 *
 * - `onnx`: the graph `compile` runs on the CPU (`buildGptGraph`: MatMulNBits for int8 / int4,
 *   float8 DequantizeLinear weights with float8 fake-quantized inputs), in transformers.js layout:
 *   `onnx/model_quantized.onnx` (int8, dtype q8), `onnx/model_q4.onnx` (int4, q4),
 *   `onnx/model_fp8.onnx` (float8, no transformers.js dtype), `onnx/model.onnx` (unquantized), with
 *   inputs `input_ids`, `attention_mask`, `position_ids`, `past_key_values.{i}.key|value` and outputs
 *   `logits`, `present.{i}.key|value`. `config.json` gets a `transformers.js_config` naming the dtype
 *   and, with external data, the data file, so `pipeline('text-generation', dir)` loads it.
 * - `onnx-qdq`: `onnx/model_qdq.onnx` with `DequantizeLinear` on int8 (per channel), int4 (blocks of
 *   128 along `in`, opset 21) and float8 weight initializers feeding `MatMul`, and float8 inputs as
 *   `QuantizeLinear → DequantizeLinear`, the explicit quantization TensorRT builds engines from.
 *
 * The source folder's `config.json` must describe the same architecture as the model. The folder
 * appears whole or not at all.
 */
export async function exportOnnx(
  gpt: GPT,
  outDir: string,
  options: ExportOnnxOptions,
): Promise<OnnxExportResult> {
  if (typeof outDir !== 'string' || outDir === '') {
    throw new InvalidArgumentError('outDir', `must be a folder path, got ${JSON.stringify(outDir)}`);
  }
  if (typeof options?.sourceDir !== 'string' || options.sourceDir === '') {
    throw new InvalidArgumentError(
      'sourceDir',
      'must name the Hugging Face folder to copy config and tokenizer from',
    );
  }
  const externalOption = options.externalData ?? 'auto';
  if (externalOption !== 'auto' && typeof externalOption !== 'boolean') {
    throw new InvalidArgumentError(
      'externalData',
      `must be true, false or 'auto', got ${String(externalOption)}`,
    );
  }
  const format = options.format ?? 'onnx';
  const hfConfig = await readGpt2Config(options.sourceDir);
  checkSameArchitecture(gpt, hfConfig.raw, join(options.sourceDir, CONFIG_FILE));
  await checkTokenizerFiles(options.sourceDir);

  const model = exportedOnnxGraph(gpt, format);
  const { fileName, transformersDtype } = onnxModelFile(format, gpt.config.quantMode, gpt.config.dtype);
  const externalData =
    externalOption === 'auto' ? initializerBytes(model) > INLINE_LIMIT_BYTES : externalOption;
  const config: Record<string, unknown> = { ...hfConfig.raw };
  const previous = config['transformers.js_config'];
  const transformersConfig = {
    ...(typeof previous === 'object' && previous !== null ? previous : {}),
    ...(transformersDtype === undefined ? {} : { dtype: transformersDtype }),
    ...(externalData ? { use_external_data_format: { [fileName]: 1 } } : {}),
  };
  if (Object.keys(transformersConfig).length > 0) config['transformers.js_config'] = transformersConfig;

  const directory = resolve(outDir);
  const writeOptions = { overwrite: options.overwrite ?? false, protectedFolders: [options.sourceDir] };
  await writeDirectoryAtomically(directory, writeOptions, async (temporary) => {
    await mkdir(join(temporary, ONNX_SUBFOLDER));
    await writeModel(model, join(temporary, ONNX_SUBFOLDER, fileName), { externalData });
    await writeJson(join(temporary, CONFIG_FILE), config);
    await copyTokenizerAndGenerationFiles(options.sourceDir, temporary);
  });
  return {
    directory,
    files: await listFiles(directory),
    modelFile: `${ONNX_SUBFOLDER}/${fileName}`,
    transformersDtype,
    externalData,
  };
}

/** transformers.js sizes the KV cache from config.json: it must match the graph. */
function checkSameArchitecture(gpt: GPT, raw: Readonly<Record<string, unknown>>, file: string): void {
  const { config } = gpt;
  const pairs: [string, number][] = [
    ['n_layer', config.numLayers],
    ['n_head', config.numHeads],
    ['n_embd', config.embeddingSize],
    ['vocab_size', config.vocabSize],
  ];
  for (const [field, value] of pairs) {
    if (raw[field] !== value) {
      throw new InvalidArgumentError(
        'sourceDir',
        `${file} has ${field} ${JSON.stringify(raw[field])}, but the model has ${value}; pass the folder the model came from`,
      );
    }
  }
}
