import { InvalidArgumentError } from '@ptq/errors';
import { type GPT2LMHeadModel, type LoadHfGpt2Options, loadHfGpt2 } from '@ptq/hf-gpt2';
import { getSubmodule } from '@ptq/module-path';
import type { GPT, ModelDType } from '@ptq/nanogpt';
import {
  fakeQuantizeWeight,
  type ModelOptQuantizeOptions,
  modelOptQuantize,
  type QuantizedModel,
  type QuantMode,
  type TensorQuantizer,
  weightCodes,
} from '@ptq/quant-core';
import { CODES_AMAX_LIMIT, convertToScale } from '@ptq/scale-math';
import { castOnce, createTensor, type Tensor } from '@ptq/tensor';
import { WeightMappingError } from './errors';
import { isAttentionBuffer, renameQuantizerKey } from './rename-quantizer-key';

export interface LoadQuantWeightsOptions {
  /** Where the checkpoint comes from: a folder or hub id (default: `modelType` itself, e.g. `gpt2`). */
  readonly model?: string;
  /** Options for loading the HF model (device for calibration, cache, offline, …). */
  readonly load?: LoadHfGpt2Options;
  /** Options for `modelOptQuantize` (dataset, samples, batch size, custom forward loop, progress). */
  readonly quantize?: ModelOptQuantizeOptions;
  /** An HF model already loaded: skips loading (it is quantized in place). */
  readonly hfModel?: GPT2LMHeadModel;
}

export interface LoadQuantWeightsResult {
  readonly model: GPT;
  readonly quantized: QuantizedModel;
}

/** What `loadQuantWeights` takes. */
export interface LoadQuantWeightsParameters {
  /**
   * The runtime GPT to load into, built for the quantization mode (`gptConfigFromHf(config, {
   * quantMode })`); its `config.dtype` is the dtype everything is cast to.
   */
  readonly model: GPT;
  /**
   * The Hugging Face GPT-2 to quantize: a folder or hub id (`gpt2`, `gpt2-medium`, …), or a model
   * already loaded (it is quantized in place).
   */
  readonly source: string | GPT2LMHeadModel;
  /** Checked against `model.config.quantMode`. @default model.config.quantMode */
  readonly quantMode?: QuantMode;
  /** Options for loading the HF model when `source` names one (device for calibration, cache, offline, …). */
  readonly load?: LoadHfGpt2Options;
  /** Options for `modelOptQuantize` (dataset, samples, batch size, custom forward loop, progress). */
  readonly quantize?: ModelOptQuantizeOptions;
}

/**
 * The seed's `load_quant_weights_from_hf` done right: load the HF checkpoint, quantize it
 * ModelOpt-style, then walk the quantized state dict: every `…_amax` becomes a scale through its
 * quantizer's maxbound (`convertToScale`), int4 block scales keep ModelOpt's `[out, in/128]` layout
 * (blocks along `in`), AWQ's `pre_quant_scale` is carried, weights stay `[out, in]` as ModelOpt left
 * them, `lm_head` is tied to `transformer.wte`, and everything is cast to `model.config.dtype` and
 * loaded with every key checked.
 */
export async function loadQuantWeights(
  parameters: LoadQuantWeightsParameters,
): Promise<LoadQuantWeightsResult> {
  const { model, source, load, quantize } = parameters;
  const built = model.config.quantMode;
  const quantMode = parameters.quantMode ?? built;
  if (quantMode === undefined) {
    throw new InvalidArgumentError(
      'quantMode',
      'is not given and the model was built unquantized (model.config.quantMode); build it with gptConfigFromHf(config, { quantMode })',
    );
  }
  if (built !== quantMode) {
    throw new InvalidArgumentError(
      'quantMode',
      `is "${quantMode}" but the model was built for ${built === undefined ? 'no quantization' : `"${built}"`} (model.config.quantMode)`,
    );
  }
  const hf = typeof source === 'string' ? await loadHfGpt2(source, load) : source;
  const quantized = await modelOptQuantize(hf, quantMode, quantize);
  model.loadStateDict(quantizedStateToRuntime(quantized, model.config.dtype), { strict: true });
  return { model, quantized };
}

/**
 * The seed's shape, `load_quant_weights_from_hf(model, model_type, dtype, quant_mode)`, kept for code
 * ported from it: `loadQuantWeights({ model, source: options.hfModel ?? options.model ?? modelType,
 * quantMode, load, quantize })`. `dtype` repeats `model.config.dtype` and must equal it.
 */
export async function loadQuantWeightsFromHf(
  model: GPT,
  modelType: string,
  dtype: ModelDType,
  quantMode: QuantMode,
  options: LoadQuantWeightsOptions = {},
): Promise<LoadQuantWeightsResult> {
  checkModelDType(model, dtype);
  return loadQuantWeights({
    model,
    source: options.hfModel ?? options.model ?? modelType,
    quantMode,
    ...(options.load === undefined ? {} : { load: options.load }),
    ...(options.quantize === undefined ? {} : { quantize: options.quantize }),
  });
}

/** The seed passes a dtype beside a model that already has one; they must agree. */
function checkModelDType(model: GPT, dtype: ModelDType): void {
  if (dtype !== model.config.dtype) {
    throw new InvalidArgumentError(
      'dtype',
      `is "${dtype}" but the model was built with "${model.config.dtype}" (model.config.dtype); pass the model's dtype`,
    );
  }
}

/** How `quantizedStateToRuntime` gives a quantized linear's weight. */
export type RuntimeWeights = 'fake-quantized' | 'codes';

/**
 * The runtime model's state dict from a quantized HF model (see `loadQuantWeights`). With `include`,
 * only the runtime keys it accepts are made (a segment of the model, say: `quantizedRuntimeSegments`).
 *
 * `weights` (default `'fake-quantized'`, the seed's): every quantized linear's weight as ModelOpt's
 * fake quantization left it, cast to `dtype`; the runtime quantizes it again when it compiles. With
 * `'codes'`, an int4 or int8 linear's weight comes as its integer codes (`runtimeCodes`) where they
 * are the codes that round trip gives — the same compiled model, without the fake quantization, the
 * cast and the second quantization.
 */
export function quantizedStateToRuntime(
  quantized: QuantizedModel,
  dtype: ModelDType,
  include: (key: string) => boolean = () => true,
  weights: RuntimeWeights = 'fake-quantized',
): Map<string, Tensor> {
  const source = quantized.stateDict();
  const target = new Map<string, Tensor>();
  const cast = castOnce(dtype);
  for (const [key, value] of source) {
    if (isAttentionBuffer(key)) continue;
    const renamed = renameQuantizerKey(key);
    if (renamed === undefined) {
      if (key.includes('_quantizer.')) {
        throw new WeightMappingError(`"${key}" is a quantizer buffer the runtime model has no parameter for`);
      }
      if (!include(key)) continue;
      const codes = weights === 'codes' ? runtimeCodes(quantized, key, dtype) : undefined;
      target.set(key, codes ?? cast(runtimeWeight(quantized, key, value)));
      continue;
    }
    if (!include(renamed.target)) continue;
    if (key.endsWith('._pre_quant_scale')) {
      target.set(renamed.target, cast(value));
      continue;
    }
    const quantizer = getSubmodule<TensorQuantizer>(quantized.model, renamed.quantizer);
    let scale = convertToScale(value, quantizer.maxbound);
    const blockSize = quantizer.blockSize;
    if (blockSize !== undefined) {
      // ModelOpt's `[out · blocks, 1]` in (out, block) order is `[out, blocks]` row-major: reshape only.
      const out = (source.get(`${renamed.module}.weight`)?.shape[0] ?? 0) as number;
      if (out === 0 || scale.data.length % out !== 0) {
        throw new WeightMappingError(
          `"${key}" has ${scale.data.length} block ranges, not a multiple of the ${out} output rows`,
        );
      }
      scale = createTensor('float32', [out, scale.data.length / out], scale.data);
    }
    target.set(renamed.target, cast(scale));
  }
  if (!include('transformer.wte.weight')) return target;
  const embedding = target.get('transformer.wte.weight');
  if (embedding === undefined)
    throw new WeightMappingError('the quantized state dict has no "transformer.wte.weight"');
  if (!target.has('lm_head.weight')) target.set('lm_head.weight', embedding);
  return target;
}

/** float16's smallest normal number: a scale below it loses precision when cast. */
const FLOAT16_MIN_NORMAL = 2 ** -14;

/**
 * An int4 or int8 linear's weight (`key`, a state-dict name) as its integer codes (`weightCodes`),
 * where they equal the codes the runtime would make from the fake-quantized weight and scale in
 * `dtype` (`runtimeWeight`, `convertToScale`): the round trip moves a value by a few units in the
 * last place of `dtype` (float16: 2⁻¹⁰ of the code at most, 0.125 for int8's 127), far from a
 * rounding boundary, while every amax is within `CODES_AMAX_LIMIT` and, in float16, every scale
 * is a normal number. `undefined` otherwise (the weight is then given as floats), and for
 * every other tensor.
 */
export function runtimeCodes(
  quantized: QuantizedModel,
  key: string,
  dtype: ModelDType,
): Tensor<'int8'> | undefined {
  if (!key.endsWith('.weight') || key === 'lm_head.weight') return undefined;
  const linear = quantized.linears.get(key.slice(0, -'.weight'.length));
  const quantizer = linear?.weight_quantizer;
  if (linear === undefined || quantizer === undefined || !quantizer.enabled) return undefined;
  if (quantizer.format !== 'int4' && quantizer.format !== 'int8') return undefined;
  const amax = quantizer.amax;
  if (amax === undefined) return undefined;
  const maxbound = quantizer.maxbound;
  for (const value of amax.data) {
    if (!(value <= CODES_AMAX_LIMIT)) return undefined;
    if (dtype === 'float16' && !(value / maxbound >= FLOAT16_MIN_NORMAL)) return undefined;
  }
  return weightCodes(linear.weight, quantizer);
}

/**
 * A quantized linear's weight as ModelOpt's fake quantization left it (`w · maxbound/amax`, rounded,
 * divided back). The runtime quantizes `weight / weight_scale` again when it compiles; starting from
 * the fake-quantized values makes it land on exactly ModelOpt's codes, where the raw weight would
 * differ at rare rounding boundaries (`w · (127/amax)` and `w / (amax/127)` are not the same float).
 * A weight tied to another module (fp8's lm_head shares wte) is left as it is; any other tensor
 * (`key` its state-dict name, `value` the tensor) too. One linear at a time, so an exporter need not
 * hold every fake-quantized weight at once, as `quantizedStateToRuntime` does; with `into` (at least
 * as long as the weight), the fake-quantized values are written there, valid until its next use.
 */
export function runtimeWeight(
  quantized: QuantizedModel,
  key: string,
  value: Tensor,
  into?: Float32Array,
): Tensor {
  if (!key.endsWith('.weight')) return value;
  const linear = quantized.linears.get(key.slice(0, -'.weight'.length));
  if (linear === undefined || !linear.weight_quantizer.enabled || linear.weight_quantizer.amax === undefined)
    return value;
  if (key === 'lm_head.weight') return value;
  return fakeQuantizeWeight(linear.weight, linear.weight_quantizer, into);
}
