import {
  onDemandTensorReader,
  openSafetensorsCheckpoint,
  type SafetensorsCheckpoint,
} from '@ptq/safetensors';
import {
  bfloat16ToFloat32Array,
  createTensor,
  float16ToFloat32Array,
  ReloadableTensor,
  type Tensor,
  toFloat32,
} from '@ptq/tensor';
import type { Gpt2Config } from '../config';
import { MissingWeightsError, ShapeMismatchError, UnexpectedWeightsError, WeightDtypeError } from '../errors';
import { Conv1D } from '../modules/conv1d';
import { Embedding } from '../modules/embedding';
import { GPT2Attention, GPT2Block, GPT2MLP } from '../modules/gpt2-block';
import { GPT2Model } from '../modules/gpt2-model';
import { LayerNorm } from '../modules/layer-norm';
import { Linear } from '../modules/linear';
import { assertFiniteWeight } from './assert-finite-weight';
import {
  canonicalParameterName,
  gpt2ParameterCount,
  gpt2ParameterShape,
  gpt2Parameters,
  isAttentionBuffer,
  iterateGpt2Parameters,
  layerOfParameter,
} from './gpt2-parameters';

export interface LoadGpt2WeightsOptions {
  /** Refuse checkpoint tensors the model has no place for (default true). */
  readonly strict?: boolean;
}

export interface Gpt2Weights {
  readonly transformer: GPT2Model;
  readonly lm_head: Linear;
  /** Whether `lm_head.weight` is the same tensor as `transformer.wte.weight`. */
  readonly tied: boolean;
  /** The safetensors file or index the weights came from. */
  readonly checkpointPath: string;
}

const FLOAT_DTYPES = new Set(['F32', 'F16', 'BF16']);
// Missing names kept on the error; the count covers the rest.
const MAX_MISSING_NAMES = 100;

/**
 * Reads a GPT-2 checkpoint folder (`model.safetensors` or `model.safetensors.index.json` + shards,
 * either key layout) into the module tree, upcasting every weight to float32. Names, dtypes and
 * shapes are all checked against the config from the headers alone, before any tensor data is read
 * or anything sized by the config is allocated; tensors are then read one at a time, each checked
 * for NaN and ±Inf.
 */
export async function loadGpt2Weights(
  folder: string,
  config: Gpt2Config,
  options: LoadGpt2WeightsOptions = {},
): Promise<Gpt2Weights> {
  const opened = await openGpt2Weights(folder, config, options);
  try {
    return await opened.read();
  } finally {
    await opened.close();
  }
}

/** A checkpoint whose index has been checked against a config; its data not read yet. */
export interface OpenedGpt2Weights {
  /** Reads every tensor (checking each for NaN and ±Inf) into the module tree. */
  read(): Promise<Gpt2Weights>;
  /**
   * Checks every tensor as `read` does, one at a time, and builds the module tree over tensors read
   * from the file when they are used (see `WeightResidence`); works after `close`.
   */
  readOnDemand(): Promise<Gpt2Weights>;
  close(): Promise<void>;
}

/**
 * Opens the checkpoint and checks its index (tensor names, dtypes, shapes, the tie rule) against the
 * config, reading headers only; throws on the first disagreement, the checkpoint closed.
 */
export async function openGpt2Weights(
  folder: string,
  config: Gpt2Config,
  options: LoadGpt2WeightsOptions = {},
): Promise<OpenedGpt2Weights> {
  const checkpoint = await openSafetensorsCheckpoint(folder);
  try {
    const plan = planWeights(checkpoint, config, options.strict ?? true);
    return {
      read: () => readWeights(checkpoint, config, plan),
      readOnDemand: () => readWeightsOnDemand(checkpoint, config, plan),
      close: () => checkpoint.close(),
    };
  } catch (error) {
    await checkpoint.close();
    throw error;
  }
}

interface WeightPlan {
  /** Canonical (prefixed) name → the key as the checkpoint spells it. */
  readonly keys: ReadonlyMap<string, string>;
  readonly tied: boolean;
}

function planWeights(checkpoint: SafetensorsCheckpoint, config: Gpt2Config, strict: boolean): WeightPlan {
  const file = checkpoint.path;
  const keys = new Map<string, string>();
  const unexpected: string[] = [];
  const checkpointLayers = new Set<number>();
  // Only the checkpoint's own names are walked here: the config's n_layer comes from a file and may
  // claim a billion layers, so nothing proportional to it is built.
  for (const key of checkpoint.tensors.keys()) {
    if (isAttentionBuffer(key)) continue;
    const name = canonicalParameterName(key);
    const layer = layerOfParameter(name);
    if (layer !== undefined) checkpointLayers.add(layer);
    if (gpt2ParameterShape(config, name) === undefined || keys.has(name)) {
      unexpected.push(key);
      continue;
    }
    keys.set(name, key);
  }

  // The config decides the tie, as in transformers: tied (default) ignores a stored lm_head.weight;
  // untied needs one.
  const tied = config.tie_word_embeddings;
  const isNeeded = (name: string) => !(tied && name === 'lm_head.weight');
  const neededCount = gpt2ParameterCount(config) - (tied ? 1 : 0);
  let presentCount = 0;
  for (const name of keys.keys()) if (isNeeded(name)) presentCount++;
  const missingCount = neededCount - presentCount;
  if (missingCount > 0) {
    const missing: string[] = [];
    for (const parameter of iterateGpt2Parameters(config)) {
      if (!isNeeded(parameter.name) || keys.has(parameter.name)) continue;
      missing.push(parameter.name);
      if (missing.length === MAX_MISSING_NAMES) break;
    }
    throw new MissingWeightsError(file, missing, {
      missingCount,
      note: missingNote(config, checkpointLayers.size, keys),
    });
  }
  if (strict && unexpected.length > 0) throw new UnexpectedWeightsError(file, unexpected);

  // Every needed parameter is stored now, so this walk is as long as the checkpoint's index.
  for (const { name, shape } of iterateGpt2Parameters(config)) {
    if (!isNeeded(name)) continue;
    const key = keys.get(name)!;
    const info = checkpoint.tensors.get(key)!;
    if (!FLOAT_DTYPES.has(info.dtype)) throw new WeightDtypeError(info.file, key, info.dtype);
    if (!sameShape(info.shape, shape)) throw new ShapeMismatchError(info.file, key, shape, info.shape);
  }
  return { keys, tied };
}

/** Why tensors are missing, when the config rather than the checkpoint is the likely culprit. */
function missingNote(
  config: Gpt2Config,
  checkpointLayers: number,
  keys: ReadonlyMap<string, string>,
): string | undefined {
  if (config.n_layer > checkpointLayers) {
    return `config.json has n_layer ${config.n_layer}; the checkpoint holds ${checkpointLayers} layer(s)`;
  }
  if (!config.tie_word_embeddings && !keys.has('lm_head.weight')) {
    return 'config.json has tie_word_embeddings false, so lm_head.weight must be stored';
  }
  return undefined;
}

async function readWeights(
  checkpoint: SafetensorsCheckpoint,
  config: Gpt2Config,
  plan: WeightPlan,
): Promise<Gpt2Weights> {
  const { keys, tied } = plan;
  // The parameters in the order they are read below: each read starts the next one's, so the file
  // is read (in the thread pool) while the previous tensor is converted and checked.
  const order = neededParameters(config, tied);
  const slab = float32Slab(
    checkpoint,
    order.map((name) => keys.get(name)!),
  );
  const readTensor = async (key: string): Promise<Tensor> => {
    const view = slab.get(key);
    if (view === undefined) return checkpoint.readTensor(key);
    await checkpoint.readTensorBytes(key, view);
    const data = new Float32Array(view.buffer, view.byteOffset, view.byteLength / 4);
    return createTensor('float32', checkpoint.tensors.get(key)!.shape, data);
  };
  const tensors = new Map<string, Tensor<'float32'>>();
  await readInOrder(
    order,
    (name) => readTensor(keys.get(name)!),
    (name, tensor) => {
      const key = keys.get(name)!;
      const data = tensor.dtype === 'float32' ? (tensor.data as Float32Array) : toFloat32(tensor);
      assertFiniteWeight(data, tensor.shape, key, checkpoint.tensors.get(key)!.file);
      tensors.set(name, createTensor('float32', tensor.shape, data));
    },
  );
  return {
    ...moduleTree(config, tied, (name) => tensors.get(name)!),
    tied,
    checkpointPath: checkpoint.path,
  };
}

/**
 * Checks every tensor (dtype, NaN and ±Inf) one at a time through two reused buffers, then builds the
 * module tree over `ReloadableTensor`s that read their tensor from the file again whenever they are
 * read after a release: the model holds only what its steps are using.
 */
async function readWeightsOnDemand(
  checkpoint: SafetensorsCheckpoint,
  config: Gpt2Config,
  plan: WeightPlan,
): Promise<Gpt2Weights> {
  const { keys, tied } = plan;
  const order = neededParameters(config, tied);
  // The files' identity is taken before the check: a file changed from then on is refused when a
  // weight is read from it, so what is read is what was checked.
  const reader = onDemandTensorReader(checkpoint);
  const infoOf = (name: string) => checkpoint.tensors.get(keys.get(name)!)!;
  const largest = Math.max(0, ...order.map((name) => infoOf(name).byteLength));
  // Two buffers, so one tensor is checked while the next is read.
  const buffers = [new ArrayBuffer(largest), new ArrayBuffer(largest)];
  let turn = 0;
  await readInOrder(
    order,
    async (name) => {
      const info = infoOf(name);
      const bytes = new Uint8Array(buffers[turn++ % 2]!, 0, info.byteLength);
      await checkpoint.readTensorBytes(keys.get(name)!, bytes);
      return bytes;
    },
    (name, bytes) => {
      const info = infoOf(name);
      assertFiniteWeight(toFloat32Data(info.dtype, bytes), info.shape, keys.get(name)!, info.file);
    },
  );
  const reloadable = (name: string) => {
    const info = infoOf(name);
    return new ReloadableTensor('float32', info.shape, () => {
      const bytes = new Uint8Array(info.byteLength);
      // The reader refuses a file changed since before the check above, so what it reads was checked
      // (NaN and ±Inf included) and is not checked again.
      reader.readInto(info, bytes);
      return toFloat32Data(info.dtype, bytes);
    });
  };
  return {
    ...moduleTree(config, tied, reloadable),
    tied,
    checkpointPath: checkpoint.path,
  };
}

/** The parameters a model of `config` reads from its checkpoint, in module order. */
function neededParameters(config: Gpt2Config, tied: boolean): string[] {
  return gpt2Parameters(config)
    .map(({ name }) => name)
    .filter((name) => !(tied && name === 'lm_head.weight'));
}

/**
 * Reads `order`'s tensors one after another, the next read started before the previous one is
 * handled, so the file is read (in the thread pool) while a tensor is converted and checked.
 */
async function readInOrder<T>(
  order: readonly string[],
  read: (name: string) => Promise<T>,
  handle: (name: string, value: T) => void,
): Promise<void> {
  let pending: Promise<T> | undefined;
  for (const [index, name] of order.entries()) {
    const current = pending ?? read(name);
    const following = order[index + 1];
    pending = following === undefined ? undefined : read(following);
    // A read nobody awaits (this tensor failed) must not surface as an unhandled rejection.
    pending?.catch(() => undefined);
    handle(name, await current);
  }
}

/** A float tensor's little-endian bytes as float32 (F32 viewed in place, F16 and BF16 widened). */
function toFloat32Data(dtype: string, bytes: Uint8Array): Float32Array {
  if (dtype === 'F32') return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
  const bits = new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 2);
  return dtype === 'F16' ? float16ToFloat32Array(bits) : bfloat16ToFloat32Array(bits);
}

/** The module tree over the tensors `tensor` gives for each parameter name. */
function moduleTree(
  config: Gpt2Config,
  tied: boolean,
  tensor: (name: string) => Tensor<'float32'>,
): { transformer: GPT2Model; lm_head: Linear } {
  const epsilon = config.layer_norm_epsilon;
  const layerNorm = (prefix: string) =>
    new LayerNorm(tensor(`${prefix}.weight`), tensor(`${prefix}.bias`), epsilon);
  const conv1d = (prefix: string) => new Conv1D(tensor(`${prefix}.weight`), tensor(`${prefix}.bias`));
  const wte = new Embedding(tensor('transformer.wte.weight'));
  const wpe = new Embedding(tensor('transformer.wpe.weight'));
  const blocks: GPT2Block[] = [];
  for (let layer = 0; layer < config.n_layer; layer++) {
    const prefix = `transformer.h.${layer}`;
    const ln1 = layerNorm(`${prefix}.ln_1`);
    const attention = new GPT2Attention(conv1d(`${prefix}.attn.c_attn`), conv1d(`${prefix}.attn.c_proj`));
    const ln2 = layerNorm(`${prefix}.ln_2`);
    const mlp = new GPT2MLP(conv1d(`${prefix}.mlp.c_fc`), conv1d(`${prefix}.mlp.c_proj`));
    blocks.push(new GPT2Block(ln1, attention, ln2, mlp));
  }
  const lnF = layerNorm('transformer.ln_f');
  const lmHead = new Linear(tied ? wte.weight : tensor('lm_head.weight'));
  return { transformer: new GPT2Model(wte, wpe, blocks, lnF), lm_head: lmHead };
}

/**
 * One allocation for every float32 tensor of `keys`, a byte view into it per tensor. V8 runs a full
 * garbage collection for about every 64 MB of new memory outside its heap, so reading GPT-2-large's
 * tensors into allocations of their own ran about fifty of them; the model holds every weight until
 * it is dropped, so one allocation costs no memory.
 */
function float32Slab(checkpoint: SafetensorsCheckpoint, keys: readonly string[]): Map<string, Uint8Array> {
  const float32 = keys.filter((key) => checkpoint.tensors.get(key)!.dtype === 'F32');
  const bytes = float32.reduce((sum, key) => sum + checkpoint.tensors.get(key)!.byteLength, 0);
  const buffer = new ArrayBuffer(bytes);
  const views = new Map<string, Uint8Array>();
  let offset = 0;
  for (const key of float32) {
    const { byteLength } = checkpoint.tensors.get(key)!;
    views.set(key, new Uint8Array(buffer, offset, byteLength));
    offset += byteLength;
  }
  return views;
}

function sameShape(found: readonly number[], expected: readonly number[]): boolean {
  return found.length === expected.length && found.every((dimension, index) => dimension === expected[index]);
}
