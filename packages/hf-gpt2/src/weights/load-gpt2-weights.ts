import { openSafetensorsCheckpoint, type SafetensorsCheckpoint } from '@ptq/safetensors';
import { createTensor, type Tensor, toFloat32 } from '@ptq/tensor';
import type { Gpt2Config } from '../config';
import { MissingWeightsError, ShapeMismatchError, UnexpectedWeightsError, WeightDtypeError } from '../errors';
import { Conv1D } from '../modules/conv1d';
import { Embedding } from '../modules/embedding';
import { GPT2Attention, GPT2Block, GPT2MLP } from '../modules/gpt2-block';
import { GPT2Model } from '../modules/gpt2-model';
import { LayerNorm } from '../modules/layer-norm';
import { Linear } from '../modules/linear';
import { canonicalParameterName, gpt2Parameters, isAttentionBuffer } from './gpt2-parameters';

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

/**
 * Reads a GPT-2 checkpoint folder (`model.safetensors` or `model.safetensors.index.json` + shards,
 * either key layout) into the module tree, upcasting every weight to float32. Names and shapes are
 * all checked against the config before any tensor data is read; tensors are then read one at a time.
 */
export async function loadGpt2Weights(
  folder: string,
  config: Gpt2Config,
  options: LoadGpt2WeightsOptions = {},
): Promise<Gpt2Weights> {
  const checkpoint = await openSafetensorsCheckpoint(folder);
  try {
    return await readWeights(checkpoint, config, options.strict ?? true);
  } finally {
    await checkpoint.close();
  }
}

async function readWeights(
  checkpoint: SafetensorsCheckpoint,
  config: Gpt2Config,
  strict: boolean,
): Promise<Gpt2Weights> {
  const file = checkpoint.path;
  // Canonical (prefixed) name → the key as the checkpoint spells it.
  const keys = new Map<string, string>();
  const unexpected: string[] = [];
  const parameters = gpt2Parameters(config);
  const known = new Set(parameters.map((parameter) => parameter.name));
  for (const key of checkpoint.tensors.keys()) {
    if (isAttentionBuffer(key)) continue;
    const name = canonicalParameterName(key);
    if (!known.has(name) || keys.has(name)) {
      unexpected.push(key);
      continue;
    }
    keys.set(name, key);
  }

  // Tied when the config says so (HF then ignores a stored lm_head.weight) or when none is stored.
  const tied = config.tie_word_embeddings || !keys.has('lm_head.weight');
  const needed = parameters.filter((parameter) => !(tied && parameter.name === 'lm_head.weight'));
  const missing = needed.filter((parameter) => !keys.has(parameter.name)).map((parameter) => parameter.name);
  if (missing.length > 0) throw new MissingWeightsError(file, missing);
  if (strict && unexpected.length > 0) throw new UnexpectedWeightsError(file, unexpected);

  for (const parameter of needed) {
    const key = keys.get(parameter.name)!;
    const info = checkpoint.tensors.get(key)!;
    if (!FLOAT_DTYPES.has(info.dtype)) throw new WeightDtypeError(info.file, key, info.dtype);
    if (!sameShape(info.shape, parameter.shape)) {
      throw new ShapeMismatchError(info.file, key, parameter.shape, info.shape);
    }
  }

  const read = async (name: string): Promise<Tensor<'float32'>> => {
    const key = keys.get(name)!;
    const tensor = await checkpoint.readTensor(key);
    const data = tensor.dtype === 'float32' ? (tensor.data as Float32Array) : toFloat32(tensor);
    return createTensor('float32', tensor.shape, data);
  };
  const epsilon = config.layer_norm_epsilon;
  const layerNorm = async (prefix: string) =>
    new LayerNorm(await read(`${prefix}.weight`), await read(`${prefix}.bias`), epsilon);
  const conv1d = async (prefix: string) =>
    new Conv1D(await read(`${prefix}.weight`), await read(`${prefix}.bias`));

  const wte = new Embedding(await read('transformer.wte.weight'));
  const wpe = new Embedding(await read('transformer.wpe.weight'));
  const blocks: GPT2Block[] = [];
  for (let layer = 0; layer < config.n_layer; layer++) {
    const prefix = `transformer.h.${layer}`;
    const ln1 = await layerNorm(`${prefix}.ln_1`);
    const attention = new GPT2Attention(
      await conv1d(`${prefix}.attn.c_attn`),
      await conv1d(`${prefix}.attn.c_proj`),
    );
    const ln2 = await layerNorm(`${prefix}.ln_2`);
    const mlp = new GPT2MLP(await conv1d(`${prefix}.mlp.c_fc`), await conv1d(`${prefix}.mlp.c_proj`));
    blocks.push(new GPT2Block(ln1, attention, ln2, mlp));
  }
  const lnF = await layerNorm('transformer.ln_f');
  const lmHead = new Linear(tied ? wte.weight : await read('lm_head.weight'));
  return {
    transformer: new GPT2Model(wte, wpe, blocks, lnF),
    lm_head: lmHead,
    tied,
    checkpointPath: file,
  };
}

function sameShape(found: readonly number[], expected: readonly number[]): boolean {
  return found.length === expected.length && found.every((dimension, index) => dimension === expected[index]);
}
