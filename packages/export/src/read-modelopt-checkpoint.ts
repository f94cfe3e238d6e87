import { stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { type Gpt2Config, isAttentionBuffer, parseGpt2Config } from '@ptq/hf-gpt2';
import { GPT, type ModelDType, type QuantMode } from '@ptq/nanogpt';
import { openSafetensorsCheckpoint, type SafetensorsCheckpoint, toPtqDType } from '@ptq/safetensors';
import { createTensor, type DType, isFloatDType, type Tensor, toFloat32, transposeMatrix } from '@ptq/tensor';
import { castOnce, gptConfigFromHf } from '@ptq/tripy-loader';
import { checkScaleValues, codesZeroAt } from './check-scale-values';
import { dequantizeModelOptWeight } from './dequantize-modelopt-weight';
import { CheckpointTensorError, NotModelOptCheckpointError, UnknownQuantAlgoError } from './errors';
import { HF_QUANT_CONFIG_FILE } from './export-modelopt-checkpoint';
import { CONFIG_FILE, readJsonObject } from './model-files';
import {
  INT4_GROUP_SIZE,
  isModelOptQuantAlgo,
  MODE_BY_QUANT_ALGO,
  MODELOPT_QUANT_ALGOS,
  type ModelOptQuantAlgo,
} from './modelopt-quant-algo';

/** How a folder describes its ModelOpt quantization (from `hf_quant_config.json`, else `config.json`). */
export interface ModelOptQuantization {
  readonly quantAlgo: ModelOptQuantAlgo;
  readonly mode: QuantMode;
  /** Who wrote it (`ptq`, `modelopt`), when the file says. */
  readonly producer: { readonly name: string; readonly version: string } | undefined;
  /** Modules left unquantized (`exclude_modules` / `ignore`). */
  readonly excludeModules: string[];
  /** The file the quantization was read from. */
  readonly file: string;
}

export interface ReadModelOptCheckpointOptions {
  /** dtype of the float tensors of `runtimeState` (default 'float32'). */
  readonly dtype?: ModelDType;
}

export interface ModelOptCheckpoint extends ModelOptQuantization {
  readonly directory: string;
  readonly hfConfig: Gpt2Config;
  /**
   * The runtime GPT's state dict for `mode` (what `GPT.loadStateDict` takes): quantized weights
   * dequantized to `codes × scale`, from which compiling re-derives the same codes, with their scales;
   * AWQ's folded LayerNorms as stored, with a `pre_quant_scale` of ones for `c_attn` / `c_fc`.
   */
  readonly runtimeState: Map<string, Tensor>;
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

function stringList(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
}

function producerOf(value: unknown): ModelOptQuantization['producer'] {
  const record = asRecord(value);
  if (record === undefined) return undefined;
  return { name: String(record.name ?? ''), version: String(record.version ?? '') };
}

function quantAlgoOf(file: string, value: unknown): ModelOptQuantAlgo {
  if (!isModelOptQuantAlgo(value)) throw new UnknownQuantAlgoError(file, value, MODELOPT_QUANT_ALGOS);
  return value;
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

async function requireFolder(directory: string): Promise<void> {
  let isDirectory = false;
  try {
    isDirectory = (await stat(directory)).isDirectory();
  } catch {
    throw new NotModelOptCheckpointError(directory, 'does not exist');
  }
  if (!isDirectory) throw new NotModelOptCheckpointError(directory, 'is not a folder');
}

/**
 * Reads which ModelOpt quantization a folder holds, from `hf_quant_config.json` or, failing that,
 * `config.json`'s `quantization_config` with `quant_method: "modelopt"`. Throws
 * `NotModelOptCheckpointError` when it has neither and `UnknownQuantAlgoError` for an algorithm
 * other than W8A16, W4A16_AWQ and FP8.
 */
export async function readModelOptQuantization(dir: string): Promise<ModelOptQuantization> {
  const directory = resolve(dir);
  await requireFolder(directory);
  const legacyFile = join(directory, HF_QUANT_CONFIG_FILE);
  if (await isFile(legacyFile)) {
    const legacy = await readJsonObject(legacyFile);
    const quantization = asRecord(legacy.quantization);
    if (quantization === undefined) {
      throw new NotModelOptCheckpointError(legacyFile, 'field "quantization" is missing or not an object');
    }
    const quantAlgo = quantAlgoOf(legacyFile, quantization.quant_algo);
    return {
      quantAlgo,
      mode: MODE_BY_QUANT_ALGO[quantAlgo],
      producer: producerOf(legacy.producer),
      excludeModules: stringList(quantization.exclude_modules),
      file: legacyFile,
    };
  }
  const configFile = join(directory, CONFIG_FILE);
  const notModelOpt = (file: string) =>
    new NotModelOptCheckpointError(
      directory,
      `holds no ${HF_QUANT_CONFIG_FILE} and no ${CONFIG_FILE} with a "quantization_config" whose quant_method is "modelopt" (checked ${file})`,
    );
  const config = await readJsonObject(configFile, notModelOpt);
  const quantizationConfig = asRecord(config.quantization_config);
  if (quantizationConfig?.quant_method !== 'modelopt') throw notModelOpt(configFile);
  const quantAlgo = quantAlgoOf(configFile, quantizationConfig.quant_algo);
  return {
    quantAlgo,
    mode: MODE_BY_QUANT_ALGO[quantAlgo],
    producer: producerOf(quantizationConfig.producer),
    excludeModules: stringList(quantizationConfig.ignore),
    file: configFile,
  };
}

/** One linear of the runtime GPT: its path, shape and whether the runtime quantizes it in this mode. */
interface LinearSlot {
  readonly path: string;
  readonly outFeatures: number;
  readonly inFeatures: number;
  readonly quantized: boolean;
  /** A Hugging Face Conv1D, stored `[in, out]` when left unquantized. */
  readonly conv1d: boolean;
  /** Its AWQ pre-quant scale may have been folded into the LayerNorm before it. */
  readonly foldable: boolean;
}

function linearSlots(config: Gpt2Config, mode: QuantMode): LinearSlot[] {
  const width = config.n_embd;
  const slots: LinearSlot[] = [];
  for (let layer = 0; layer < config.n_layer; layer += 1) {
    const block = `transformer.h.${layer}`;
    const linear = (
      path: string,
      outFeatures: number,
      inFeatures: number,
      foldable: boolean,
    ): LinearSlot => ({
      path: `${block}.${path}`,
      outFeatures,
      inFeatures,
      quantized: true,
      conv1d: true,
      foldable,
    });
    slots.push(
      linear('attn.c_attn', 3 * width, width, true),
      linear('attn.c_proj', width, width, false),
      linear('mlp.c_fc', config.n_inner, width, true),
      linear('mlp.c_proj', width, config.n_inner, false),
    );
  }
  slots.push({
    path: 'lm_head',
    outFeatures: config.vocab_size,
    inFeatures: width,
    quantized: mode === 'float8',
    conv1d: false,
    foldable: false,
  });
  return slots;
}

function formatShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

function sameShape(left: readonly number[], right: readonly number[]): boolean {
  return left.length === right.length && left.every((size, index) => size === right[index]);
}

/** A check on a tensor's dtype and shape, with the words that describe what it accepts. */
interface TensorExpectation {
  readonly description: string;
  accepts(dtype: DType | undefined, shape: readonly number[]): boolean;
}

function exactly(dtype: DType, shape: readonly number[], note = ''): TensorExpectation {
  return {
    description: `${dtype} ${formatShape(shape)}${note}`,
    accepts: (found, foundShape) => found === dtype && sameShape(foundShape, shape),
  };
}

function floatOf(shape: readonly number[], what = 'float'): TensorExpectation {
  return {
    description: `${what} ${formatShape(shape)}`,
    accepts: (found, foundShape) =>
      found !== undefined && isFloatDType(found) && sameShape(foundShape, shape),
  };
}

/** A float scale of `shape`; a single scale may also be stored as `[1]` (ModelOpt's `export_amax` does). */
function scaleOf(shape: readonly number[]): TensorExpectation {
  return {
    description: `a float scale ${formatShape(shape)}`,
    accepts: (found, foundShape) =>
      found !== undefined &&
      isFloatDType(found) &&
      (sameShape(foundShape, shape) || (shape.length === 0 && sameShape(foundShape, [1]))),
  };
}

/**
 * Reads the checkpoint's tensors by name, checking dtype and shape from the header before reading
 * any bytes, and remembers which were read.
 */
class TensorReader {
  readonly #checkpoint: SafetensorsCheckpoint;
  readonly consumed = new Set<string>();

  constructor(checkpoint: SafetensorsCheckpoint) {
    this.#checkpoint = checkpoint;
  }

  has(name: string): boolean {
    return this.#checkpoint.tensors.has(name);
  }

  fileOf(name: string): string {
    return this.#checkpoint.tensors.get(name)?.file ?? this.#checkpoint.path;
  }

  names(): string[] {
    return [...this.#checkpoint.tensors.keys()];
  }

  async read(name: string, expectation: TensorExpectation): Promise<Tensor> {
    const info = this.#checkpoint.tensors.get(name);
    if (info === undefined) {
      throw new CheckpointTensorError(
        this.#checkpoint.path,
        name,
        `is missing; expected ${expectation.description}`,
      );
    }
    const dtype = toPtqDType(info.dtype);
    if (!expectation.accepts(dtype, info.shape)) {
      throw new CheckpointTensorError(
        info.file,
        name,
        `is ${dtype ?? info.dtype} ${formatShape(info.shape)}; expected ${expectation.description}`,
      );
    }
    this.consumed.add(name);
    return this.#checkpoint.readTensor(name);
  }

  /** A float tensor (any float dtype) of exactly `shape`, as float32 values. */
  async readFloat(name: string, shape: readonly number[], what = 'float'): Promise<Float32Array> {
    return toFloat32(await this.read(name, floatOf(shape, what)));
  }

  async readScale(name: string, shape: readonly number[]): Promise<Float32Array> {
    return toFloat32(await this.read(name, scaleOf(shape)));
  }

  /** See `checkScaleValues`: names the tensor and the file it is in. */
  checkScale(name: string, values: Float32Array, zeroAllowedAt?: (index: number) => boolean): void {
    checkScaleValues(this.fileOf(name), name, values, zeroAllowedAt);
  }
}

async function readQuantizedLinear(
  reader: TensorReader,
  slot: LinearSlot,
  algo: ModelOptQuantAlgo,
  state: Map<string, Tensor>,
): Promise<void> {
  const { path, outFeatures, inFeatures } = slot;
  const shape = [outFeatures, inFeatures];
  const weightName = `${path}.weight`;
  let weight: Float32Array;
  switch (algo) {
    case 'W8A16': {
      const scale = await reader.readScale(`${path}.weight_scale`, [outFeatures]);
      const codes = await reader.read(weightName, exactly('int8', shape, ' (W8A16)'));
      reader.checkScale(`${path}.weight_scale`, scale, codesZeroAt(algo, codes, outFeatures, inFeatures));
      weight = dequantizeModelOptWeight(algo, codes, scale, outFeatures, inFeatures);
      state.set(`${path}.weight_scale`, createTensor('float32', [outFeatures], scale));
      break;
    }
    case 'W4A16_AWQ': {
      const blocks = Math.ceil(inFeatures / INT4_GROUP_SIZE);
      const scale = await reader.readScale(`${path}.weight_scale`, [outFeatures, blocks]);
      const packed = await reader.read(
        weightName,
        exactly('uint8', [outFeatures / 2, inFeatures], ' (W4A16_AWQ: int4 codes, two output rows per byte)'),
      );
      reader.checkScale(`${path}.weight_scale`, scale, codesZeroAt(algo, packed, outFeatures, inFeatures));
      weight = dequantizeModelOptWeight(algo, packed, scale, outFeatures, inFeatures);
      state.set(`${path}.weight_scale`, createTensor('float32', [outFeatures, blocks], scale));
      const preQuantName = `${path}.pre_quant_scale`;
      // Folded into the LayerNorm before it by the export: the runtime multiplies by ones instead.
      let preQuantScale: Float32Array = new Float32Array(inFeatures).fill(1);
      if (reader.has(preQuantName) || !slot.foldable) {
        preQuantScale = await reader.readFloat(preQuantName, [inFeatures], 'an AWQ pre_quant_scale');
        reader.checkScale(preQuantName, preQuantScale);
      }
      state.set(preQuantName, createTensor('float32', [inFeatures], preQuantScale));
      break;
    }
    case 'FP8': {
      const scale = await reader.readScale(`${path}.weight_scale`, []);
      const inputScale = await reader.readScale(`${path}.input_scale`, []);
      const codes = await reader.read(weightName, exactly('float8e4m3fn', shape, ' (FP8)'));
      reader.checkScale(`${path}.weight_scale`, scale, codesZeroAt(algo, codes, outFeatures, inFeatures));
      reader.checkScale(`${path}.input_scale`, inputScale);
      weight = dequantizeModelOptWeight(algo, codes, scale, outFeatures, inFeatures);
      state.set(`${path}.weight_scale`, createTensor('float32', [], scale));
      state.set(`${path}.input_scale`, createTensor('float32', [], inputScale));
      break;
    }
  }
  state.set(weightName, createTensor('float32', shape, weight));
}

async function readLinear(
  reader: TensorReader,
  slot: LinearSlot,
  algo: ModelOptQuantAlgo,
  mode: QuantMode,
  state: Map<string, Tensor>,
): Promise<void> {
  const { path, outFeatures, inFeatures } = slot;
  const scaleName = `${path}.weight_scale`;
  const storedQuantized = reader.has(scaleName);
  if (storedQuantized !== slot.quantized) {
    const why = storedQuantized
      ? `the checkpoint quantizes ${path}, which ptq's ${mode} runtime keeps in float`
      : `ptq's ${mode} runtime quantizes ${path}` +
        (path === 'lm_head'
          ? " (as the Tripy example does; ModelOpt's own FP8 preset leaves lm_head in float)"
          : '');
    throw new CheckpointTensorError(
      reader.fileOf(scaleName),
      scaleName,
      storedQuantized ? `is present, but ${why}` : `is missing: ${why}`,
    );
  }
  if (slot.quantized) {
    await readQuantizedLinear(reader, slot, algo, state);
  } else if (path === 'lm_head') {
    // Absent when tied to the embedding (de-duplicated on export).
    if (reader.has('lm_head.weight')) {
      const weight = await reader.readFloat('lm_head.weight', [outFeatures, inFeatures]);
      state.set('lm_head.weight', createTensor('float32', [outFeatures, inFeatures], weight));
    }
  } else {
    // An unquantized Conv1D keeps Hugging Face's [in, out].
    const weight = await reader.readFloat(
      `${path}.weight`,
      slot.conv1d ? [inFeatures, outFeatures] : [outFeatures, inFeatures],
    );
    const outIn = slot.conv1d ? transposeMatrix(weight, inFeatures, outFeatures) : weight;
    state.set(`${path}.weight`, createTensor('float32', [outFeatures, inFeatures], outIn));
  }
  if (path !== 'lm_head') {
    state.set(
      `${path}.bias`,
      createTensor('float32', [outFeatures], await reader.readFloat(`${path}.bias`, [outFeatures])),
    );
  }
}

/**
 * Reads a ModelOpt unified HF checkpoint (ptq's export or ModelOpt's own, single file or sharded) into
 * the runtime GPT's state dict for its mode (see `ModelOptCheckpoint.runtimeState`). Every tensor is
 * checked against its format's dtype and shape; missing, misshapen and unexpected tensors throw a
 * `CheckpointTensorError` naming the file and tensor.
 */
export async function readModelOptCheckpoint(
  dir: string,
  options: ReadModelOptCheckpointOptions = {},
): Promise<ModelOptCheckpoint> {
  const directory = resolve(dir);
  const quantization = await readModelOptQuantization(directory);
  const configFile = join(directory, CONFIG_FILE);
  const hfConfig = parseGpt2Config(await readJsonObject(configFile), configFile);
  // Checked before reading tensors: the runtime's MLP width.
  gptConfigFromHf(hfConfig);
  const { quantAlgo, mode } = quantization;

  let checkpoint: SafetensorsCheckpoint;
  try {
    checkpoint = await openSafetensorsCheckpoint(directory);
  } catch (error) {
    throw new NotModelOptCheckpointError(
      directory,
      `has no readable safetensors checkpoint (${(error as Error).message})`,
      {
        cause: error,
      },
    );
  }
  const state = new Map<string, Tensor>();
  try {
    const reader = new TensorReader(checkpoint);
    const width = hfConfig.n_embd;
    const copyFloat = async (name: string, shape: readonly number[]) => {
      state.set(name, createTensor('float32', shape, await reader.readFloat(name, shape)));
    };
    const slots = linearSlots(hfConfig, mode);
    await copyFloat('transformer.wte.weight', [hfConfig.vocab_size, width]);
    await copyFloat('transformer.wpe.weight', [hfConfig.n_positions, width]);
    for (let layer = 0; layer < hfConfig.n_layer; layer += 1) {
      const block = `transformer.h.${layer}`;
      for (const norm of ['ln_1', 'ln_2']) {
        await copyFloat(`${block}.${norm}.weight`, [width]);
        await copyFloat(`${block}.${norm}.bias`, [width]);
      }
      for (const slot of slots.filter((candidate) => candidate.path.startsWith(`${block}.`))) {
        await readLinear(reader, slot, quantAlgo, mode, state);
      }
    }
    await copyFloat('transformer.ln_f.weight', [width]);
    await copyFloat('transformer.ln_f.bias', [width]);
    await readLinear(reader, slots[slots.length - 1]!, quantAlgo, mode, state);

    const unexpected = reader
      .names()
      .filter((name) => !reader.consumed.has(name) && !isAttentionBuffer(name));
    if (unexpected.length > 0) {
      const listed =
        unexpected.slice(0, 8).join(', ') +
        (unexpected.length > 8 ? `, … (${unexpected.length} in all)` : '');
      throw new CheckpointTensorError(
        reader.fileOf(unexpected[0]!),
        unexpected[0]!,
        `is not part of a GPT-2 ${quantAlgo} checkpoint (unexpected tensors: ${listed})`,
      );
    }
  } finally {
    await checkpoint.close();
  }

  const cast = castOnce(options.dtype ?? 'float32');
  const runtimeState = new Map<string, Tensor>();
  for (const [name, tensor] of state) runtimeState.set(name, cast(tensor));
  if (!runtimeState.has('lm_head.weight'))
    runtimeState.set('lm_head.weight', runtimeState.get('transformer.wte.weight')!);
  return { ...quantization, directory, hfConfig, runtimeState };
}

export interface LoadModelOptCheckpointOptions extends ReadModelOptCheckpointOptions {}

/** Reads a ModelOpt checkpoint and loads it into a new runtime GPT of its mode, ready to `compile`. */
export async function loadModelOptCheckpoint(
  dir: string,
  options: LoadModelOptCheckpointOptions = {},
): Promise<{ gpt: GPT; checkpoint: ModelOptCheckpoint }> {
  const checkpoint = await readModelOptCheckpoint(dir, options);
  const gpt = new GPT(
    gptConfigFromHf(checkpoint.hfConfig, { dtype: options.dtype, quantMode: checkpoint.mode }),
  );
  gpt.loadStateDict(checkpoint.runtimeState, { strict: true });
  return { gpt, checkpoint };
}
