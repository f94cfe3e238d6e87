import { readFile, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { isAttentionBuffer } from '@ptq/hf-gpt2';
import type { QuantMode } from '@ptq/nanogpt';
import { type DecodedModel, type DecodedTensor, decodeModel } from '@ptq/onnx-format';
import { isQuantMode } from '@ptq/quant-core';
import {
  openSafetensorsCheckpoint,
  SAFETENSORS_FILE,
  SAFETENSORS_INDEX_FILE,
  type SafetensorsCheckpoint,
} from '@ptq/safetensors';
import { numElements, toFloat32 } from '@ptq/tensor';
import { checkScaleValues, codesZeroAt, firstInvalidScale } from './check-scale-values';
import { CheckpointTensorError, UnknownExportError } from './errors';
import { HF_QUANT_CONFIG_FILE } from './export-modelopt-checkpoint';
import { findOnnxModelFile, onnxModelFiles } from './find-onnx-model';
import { listFiles } from './list-files';
import { CONFIG_FILE, readJsonObject } from './model-files';
import type { ModelOptQuantAlgo } from './modelopt-quant-algo';
import { analyzeOnnxGraph, checkOnnxScale, initializerTensor } from './onnx-graph-scales';
import { ONNX_SUBFOLDER } from './onnx-model-file';
import { type ModelOptQuantization, readModelOptQuantization } from './read-modelopt-quantization';
import { type ScaleKind, type ScaleStatistics, ScaleStatisticsCollector } from './scale-statistics';

/** What a folder holds: a ModelOpt unified HF checkpoint, ONNX in transformers.js layout, or a plain HF checkpoint. */
export type ExportFormat = 'modelopt-hf' | 'onnx' | 'hf';

export interface ExportInspection {
  readonly format: ExportFormat;
  readonly directory: string;
  /** The ptq mode, or undefined for an unquantized model. */
  readonly mode: QuantMode | undefined;
  /** ModelOpt checkpoints only. */
  readonly quantAlgo?: ModelOptQuantAlgo;
  /** The file inspected, relative to the folder (`model.safetensors`, `onnx/model_q4.onnx`). */
  readonly modelFile: string;
  /** Paths of the linears with quantized weights, in file order. */
  readonly quantizedLayers: string[];
  /** min / max / mean of every kind of scale present. */
  readonly scaleStats: Partial<Record<ScaleKind, ScaleStatistics>>;
  /** Bytes of every file in the folder. */
  readonly sizeOnDisk: number;
  /** Bytes the same parameters take as float32 (scales left out), for the compression ratio. */
  readonly fp32Size: number;
}

export interface InspectExportOptions {
  /** ONNX exports holding several models: which one, relative to the folder (`onnx/model_q4.onnx`). */
  readonly modelFile?: string;
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/**
 * Which export a folder holds: `modelopt-hf` (an `hf_quant_config.json`, or a `config.json` whose
 * `quantization_config.quant_method` is `modelopt`), `onnx` (`.onnx` files in `onnx/`), or `hf`
 * (`config.json` with `model.safetensors` or its index). Anything else is an `UnknownExportError`.
 */
export async function detectExport(dir: string): Promise<ExportFormat> {
  const directory = resolve(dir);
  let isDirectory = false;
  try {
    isDirectory = (await stat(directory)).isDirectory();
  } catch {
    throw new UnknownExportError(directory, 'does not exist');
  }
  if (!isDirectory) throw new UnknownExportError(directory, 'is not a folder');
  if (await isFile(join(directory, HF_QUANT_CONFIG_FILE))) return 'modelopt-hf';
  const configFile = join(directory, CONFIG_FILE);
  const config = (await isFile(configFile)) ? await readJsonObject(configFile) : undefined;
  const quantization = config?.quantization_config;
  if (
    typeof quantization === 'object' &&
    quantization !== null &&
    (quantization as Record<string, unknown>).quant_method === 'modelopt'
  ) {
    return 'modelopt-hf';
  }
  if ((await onnxModelFiles(directory)).length > 0) return 'onnx';
  if (
    config !== undefined &&
    ((await isFile(join(directory, SAFETENSORS_FILE))) ||
      (await isFile(join(directory, SAFETENSORS_INDEX_FILE))))
  ) {
    return 'hf';
  }
  throw new UnknownExportError(
    directory,
    `holds no ${HF_QUANT_CONFIG_FILE}, no ${ONNX_SUBFOLDER}/*.onnx and no ${CONFIG_FILE} with ${SAFETENSORS_FILE}: not an export ptq reads`,
  );
}

async function folderSize(directory: string): Promise<number> {
  let total = 0;
  for (const file of await listFiles(directory)) total += (await stat(join(directory, file))).size;
  return total;
}

/** Module order: blocks by number (`h.2` before `h.10`), the head last. */
function compareModulePaths(left: string, right: string): number {
  const rank = (path: string) => (path.startsWith('lm_head') ? 1 : 0);
  return rank(left) - rank(right) || left.localeCompare(right, 'en', { numeric: true });
}

function scaleKindOf(name: string): ScaleKind | undefined {
  const match = /\.(weight_scale|input_scale|pre_quant_scale)$/.exec(name);
  return match === null ? undefined : (match[1] as ScaleKind);
}

/** The safetensors dtype each ModelOpt algorithm stores its weight codes as. */
const CODE_DTYPE_OF: Readonly<Record<ModelOptQuantAlgo, string>> = {
  W8A16: 'I8',
  W4A16_AWQ: 'U8',
  FP8: 'F8_E4M3',
};

const CODE_DTYPES = new Set([...Object.values(CODE_DTYPE_OF), 'F8_E5M2']);

/**
 * Checks that the tensors agree with the algorithm the configs name, from the header alone: every
 * `weight_scale` has a weight in the algorithm's code dtype (an int8 weight under a W4A16_AWQ
 * config, or a float weight with a scale, is an error), every weight stored as codes has its
 * `weight_scale`, and an FP8 linear has its `input_scale`.
 */
function checkQuantizedTensors(checkpoint: SafetensorsCheckpoint, quantization: ModelOptQuantization): void {
  const { quantAlgo } = quantization;
  const expected = CODE_DTYPE_OF[quantAlgo];
  const config = basename(quantization.file);
  for (const [name, info] of checkpoint.tensors) {
    if (name.endsWith('.weight_scale')) {
      const base = name.slice(0, -'.weight_scale'.length);
      const weight = checkpoint.tensors.get(`${base}.weight`);
      if (weight === undefined) {
        throw new CheckpointTensorError(
          info.file,
          `${base}.weight`,
          `is missing, but its scale ${name} is there`,
        );
      }
      if (weight.dtype !== expected) {
        const other = (Object.keys(CODE_DTYPE_OF) as ModelOptQuantAlgo[]).find(
          (algo) => CODE_DTYPE_OF[algo] === weight.dtype,
        );
        throw new CheckpointTensorError(
          weight.file,
          `${base}.weight`,
          other === undefined
            ? `is ${weight.dtype}, but it has a weight_scale and ${config} says ${quantAlgo}, whose weights are ${expected}`
            : `is ${weight.dtype} (${other}'s codes), but ${config} says ${quantAlgo}, whose weights are ${expected}: the export contradicts itself`,
        );
      }
      if (quantAlgo === 'FP8' && !checkpoint.tensors.has(`${base}.input_scale`)) {
        throw new CheckpointTensorError(
          info.file,
          `${base}.input_scale`,
          'is missing; every FP8 linear has one',
        );
      }
    } else if (name.endsWith('.weight') && CODE_DTYPES.has(info.dtype)) {
      const base = name.slice(0, -'.weight'.length);
      if (!checkpoint.tensors.has(`${base}.weight_scale`)) {
        throw new CheckpointTensorError(
          info.file,
          `${base}.weight_scale`,
          `is missing: ${name} is stored as ${info.dtype} codes, which mean nothing without it`,
        );
      }
    }
  }
}

/** Checks a stored scale's values (see `checkScaleValues`); a zero weight scale only over all-zero codes. */
async function checkStoredScale(
  checkpoint: SafetensorsCheckpoint,
  algo: ModelOptQuantAlgo,
  name: string,
  kind: ScaleKind,
  values: Float32Array,
): Promise<void> {
  const file = checkpoint.tensors.get(name)?.file ?? checkpoint.path;
  const invalid = firstInvalidScale(values);
  if (invalid === undefined) return;
  if (kind !== 'weight_scale' || invalid.value !== 0) checkScaleValues(file, name, values);
  // Only a zero weight scale needs the codes (checked against the algorithm's dtype already).
  const weightName = `${name.slice(0, -'.weight_scale'.length)}.weight`;
  const codes = await checkpoint.readTensor(weightName);
  const [rows = 0, inFeatures = 0] = codes.shape;
  const outFeatures = algo === 'W4A16_AWQ' ? rows * 2 : rows;
  checkScaleValues(file, name, values, codesZeroAt(algo, codes, outFeatures, inFeatures));
}

/**
 * Summarizes an export for `ptq inspect`: its format and mode, the quantized layers, min / max / mean
 * of each kind of scale, its size on disk and the float32 size of the same parameters.
 *
 * What it reports is checked first: a ModelOpt checkpoint whose tensors contradict its
 * `quant_algo`, a weight stored as codes without its `weight_scale`, and a scale holding NaN,
 * ±Infinity, a negative or (over codes that are not all zero) a zero throw a
 * `CheckpointTensorError` naming the file and tensor; so do such scales in an ONNX export.
 */
export async function inspectExport(
  dir: string,
  options: InspectExportOptions = {},
): Promise<ExportInspection> {
  const directory = resolve(dir);
  const format = await detectExport(directory);
  const sizeOnDisk = await folderSize(directory);
  if (format === 'onnx') return { ...(await inspectOnnx(directory, options.modelFile)), sizeOnDisk };
  return { ...(await inspectSafetensors(directory, format)), sizeOnDisk };
}

async function inspectSafetensors(
  directory: string,
  format: 'modelopt-hf' | 'hf',
): Promise<Omit<ExportInspection, 'sizeOnDisk'>> {
  const quantization = format === 'modelopt-hf' ? await readModelOptQuantization(directory) : undefined;
  const checkpoint = await openSafetensorsCheckpoint(directory);
  const statistics = new ScaleStatisticsCollector();
  const quantizedLayers: string[] = [];
  let fp32Elements = 0;
  try {
    if (quantization !== undefined) checkQuantizedTensors(checkpoint, quantization);
    for (const [name, info] of checkpoint.tensors) {
      if (isAttentionBuffer(name)) continue;
      const kind = scaleKindOf(name);
      if (kind !== undefined) {
        const values = toFloat32(await checkpoint.readTensor(name));
        if (quantization !== undefined)
          await checkStoredScale(checkpoint, quantization.quantAlgo, name, kind, values);
        statistics.add(kind, values);
        if (kind === 'weight_scale') quantizedLayers.push(name.slice(0, -'.weight_scale'.length));
        continue;
      }
      // W4A16 packs two int4 values per byte.
      const packed = quantization?.quantAlgo === 'W4A16_AWQ' && info.dtype === 'U8';
      fp32Elements += numElements(info.shape) * (packed ? 2 : 1);
    }
  } finally {
    await checkpoint.close();
  }
  quantizedLayers.sort(compareModulePaths);
  return {
    format,
    directory,
    mode: quantization?.mode,
    ...(quantization === undefined ? {} : { quantAlgo: quantization.quantAlgo }),
    modelFile: basename(checkpoint.path),
    quantizedLayers,
    scaleStats: statistics.result(),
    fp32Size: fp32Elements * 4,
  };
}

function modeOfOnnx(
  model: DecodedModel,
  initializers: ReadonlyMap<string, DecodedTensor>,
): QuantMode | undefined {
  const declared = model.metadata['ptq.quant_mode'];
  if (declared === 'none') return undefined;
  if (isQuantMode(declared)) return declared;
  // A graph ptq did not write: judge by its quantized weights.
  for (const node of model.graph.nodes) {
    if (node.opType === 'MatMulNBits') {
      const bits = node.attributes.find((attribute) => attribute.name === 'bits');
      return bits?.type === 'int' && bits.value === 8n ? 'int8-weight-only' : 'int4-weight-only';
    }
    if (node.opType === 'DequantizeLinear') {
      const dtype = initializers.get(node.inputs[0] ?? '')?.dtype;
      if (dtype === 'float8e4m3fn') return 'float8';
      if (dtype === 'int4') return 'int4-weight-only';
      if (dtype === 'int8') return 'int8-weight-only';
    }
  }
  return undefined;
}

async function inspectOnnx(
  directory: string,
  requested: string | undefined,
): Promise<Omit<ExportInspection, 'sizeOnDisk'>> {
  const modelFile = await findOnnxModelFile(directory, requested);
  const modelPath = join(directory, modelFile);
  const model = decodeModel(new Uint8Array(await readFile(modelPath)), { file: modelPath });
  const initializers = new Map(
    model.graph.initializers.map((initializer) => [initializer.name, initializer]),
  );
  const statistics = new ScaleStatisticsCollector();
  const { scaleNames, quantizedLayers, weightElements } = analyzeOnnxGraph(model, initializers);
  let fp32Elements = 0;
  for (const initializer of model.graph.initializers) {
    const kind = scaleNames.get(initializer.name);
    if (kind !== undefined) {
      const values = toFloat32(await initializerTensor(modelPath, initializer));
      checkOnnxScale(modelPath, initializer.name, kind, values);
      statistics.add(kind, values);
      continue;
    }
    fp32Elements += weightElements.get(initializer.name) ?? numElements(initializer.shape);
  }
  return {
    format: 'onnx',
    directory,
    mode: modeOfOnnx(model, initializers),
    modelFile,
    quantizedLayers,
    scaleStats: statistics.result(),
    fp32Size: fp32Elements * 4,
  };
}
