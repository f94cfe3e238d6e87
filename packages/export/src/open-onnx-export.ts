import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { InvalidArgumentError } from '@ptq/errors';
import { type Gpt2Config, parseGpt2Config } from '@ptq/hf-gpt2';
import {
  CompiledGPT,
  type ModelDType,
  pastKeyName,
  QUANT_MODES,
  type QuantMode,
  resolveGPTConfig,
  WEIGHT_FORMATS,
  type WeightFormat,
} from '@ptq/nanogpt';
import { createSession, type Device } from '@ptq/onnx';
import { type DecodedModel, decodeModel } from '@ptq/onnx-format';
import { gptConfigFromHf } from '@ptq/tripy-loader';
import type { InferenceSession } from 'onnxruntime-node';
import { UnknownExportError } from './errors';
import { findOnnxModelFile } from './find-onnx-model';
import { CONFIG_FILE, readJsonObject } from './model-files';
import { checkOnnxScales } from './onnx-graph-scales';

export interface OpenOnnxExportOptions {
  /** Default 'auto': cuda, then webgpu, then cpu. */
  readonly device?: Device;
  /** Which model of `onnx/` (default: the only one). */
  readonly modelFile?: string;
  /** Longest sequence a call accepts (default and maximum: `n_positions`). */
  readonly maxSequence?: number;
  /** Most rows per call (default 1). */
  readonly batch?: number;
  readonly onNotice?: (message: string) => void;
  /** Merged into the session options chosen here. */
  readonly sessionOptions?: InferenceSession.SessionOptions;
}

export interface OpenedOnnxExport {
  /** Ready for `generate`, `forward` and perplexity, like a compiled runtime model. */
  readonly compiled: CompiledGPT;
  readonly hfConfig: Gpt2Config;
  readonly modelFile: string;
  readonly mode: QuantMode | undefined;
}

function checkPositiveInteger(name: string, value: number, maximum: number): void {
  if (!Number.isSafeInteger(value) || value < 1 || value > maximum) {
    throw new InvalidArgumentError(name, `must be an integer in [1, ${maximum}], got ${String(value)}`);
  }
}

function quantModeOf(model: DecodedModel): QuantMode | undefined {
  const declared = model.metadata['ptq.quant_mode'];
  return (QUANT_MODES as readonly string[]).includes(declared ?? '') ? (declared as QuantMode) : undefined;
}

function weightFormatOf(model: DecodedModel): WeightFormat | undefined {
  const declared = model.metadata['ptq.weight_format'];
  return (WEIGHT_FORMATS as readonly string[]).includes(declared ?? '')
    ? (declared as WeightFormat)
    : undefined;
}

/**
 * Session options an exported graph needs on onnxruntime: integer DequantizeLinear weights keep
 * float activations (onnxruntime would otherwise fuse them into MatMulNBits with int8 activations),
 * and float8 Q/DQ activations stay unfused (the CPU provider rejects the fused MatMulIntegerToFloat).
 */
function sessionOptionsFor(
  model: DecodedModel,
  mode: QuantMode | undefined,
): InferenceSession.SessionOptions {
  if (weightFormatOf(model) !== 'dequantize-linear') return {};
  const qdqActivations = model.graph.nodes.some((node) => node.opType === 'QuantizeLinear');
  return {
    ...(mode === 'float8' && qdqActivations ? { graphOptimizationLevel: 'basic' as const } : {}),
    extra: { session: { qdq_matmulnbits_accuracy_level: '0' } },
  };
}

/**
 * Opens an ONNX export written by `exportOnnx` (either format) as a `CompiledGPT`, so `ptq generate`
 * and `ptq eval` run it like a freshly compiled model. The architecture comes from the export's
 * `config.json`, the mode and weight format from the graph's `ptq.*` metadata, the dtype from its
 * KV-cache inputs.
 */
export async function openOnnxExport(
  dir: string,
  options: OpenOnnxExportOptions = {},
): Promise<OpenedOnnxExport> {
  const directory = resolve(dir);
  const modelFile = await findOnnxModelFile(directory, options.modelFile);
  const configFile = join(directory, CONFIG_FILE);
  const hfConfig = parseGpt2Config(await readJsonObject(configFile), configFile);
  const modelPath = join(directory, modelFile);
  const model = decodeModel(new Uint8Array(await readFile(modelPath)), { file: modelPath });
  const past = model.graph.inputs.find((input) => input.name === pastKeyName(0));
  if (past === undefined || (past.dtype !== 'float32' && past.dtype !== 'float16')) {
    throw new UnknownExportError(
      modelPath,
      `has no float "${pastKeyName(0)}" input: not a decoder in transformers.js layout`,
    );
  }
  // A NaN or negative scale would make the session produce garbage without a word.
  await checkOnnxScales(modelPath, model);
  const dtype: ModelDType = past.dtype;
  const mode = quantModeOf(model);
  const config = resolveGPTConfig(gptConfigFromHf(hfConfig, { dtype, quantMode: mode }));
  const maxSequence = options.maxSequence ?? config.blockSize;
  const batch = options.batch ?? 1;
  checkPositiveInteger('maxSequence', maxSequence, config.blockSize);
  checkPositiveInteger('batch', batch, Number.MAX_SAFE_INTEGER);
  const handle = await createSession(modelPath, {
    device: options.device ?? 'auto',
    onNotice: options.onNotice,
    sessionOptions: { ...sessionOptionsFor(model, mode), ...options.sessionOptions },
  });
  const compiled = new CompiledGPT({
    config,
    session: handle.session,
    device: handle.device,
    weightFormat: weightFormatOf(model),
    maxSequence,
    batch,
  });
  return { compiled, hfConfig, modelFile, mode };
}
