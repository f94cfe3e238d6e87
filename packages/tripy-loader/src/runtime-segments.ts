import { type GPT2LMHeadModel, releaseWeights } from '@ptq/hf-gpt2';
import {
  type GPTConfigInput,
  type GPTSegments,
  loadGptSegment,
  type ModelDType,
  resolveGPTConfig,
  segmentKey,
} from '@ptq/nanogpt';
import type { QuantizedModel } from '@ptq/quant-core';
import { heldTensor, type Tensor } from '@ptq/tensor';
import { gptConfigFromHf } from './gpt-config-from-hf';
import { quantizedStateToRuntime, type RuntimeWeights } from './load-quant-weights-from-hf';
import { hfStateToRuntime } from './load-weights-from-hf';

/**
 * The unquantized runtime model of `hf` a segment at a time (`@ptq/nanogpt`'s `GPTSegments`): each
 * segment's weights are transposed and cast when it is asked for, so the runtime copy never holds
 * more than one segment beside the HF model (`loadWeightsFromHf` makes the whole copy at once).
 */
export function hfRuntimeSegments(hf: GPT2LMHeadModel, dtype: ModelDType): GPTSegments {
  return segmentsOfState(
    gptConfigFromHf(hf.config, { dtype }),
    (include) => hfStateToRuntime(hf, dtype, include),
    () => releaseWeights(hf),
  );
}

/**
 * The quantized runtime model a segment at a time: each segment's weights and scales are made when
 * it is asked for (`quantizedStateToRuntime` of its keys only), never the whole model's. Integer
 * weights come as their codes by default (`weights: 'codes'`: the same compiled model as from the
 * fake-quantized weights, made in less time); `'fake-quantized'` gives the seed's floats.
 */
export function quantizedRuntimeSegments(
  quantized: QuantizedModel,
  dtype: ModelDType,
  options: { readonly weights?: RuntimeWeights } = {},
): GPTSegments {
  const weights = options.weights ?? 'codes';
  return segmentsOfState(
    gptConfigFromHf(quantized.model.config, { dtype, quantMode: quantized.mode }),
    (include) => quantizedStateToRuntime(quantized, dtype, include, weights),
    () => releaseWeights(quantized.model),
  );
}

/**
 * Segments whose state is made by `state` for the keys each segment reads. Once a segment's state
 * is made, `release` drops the source model's weights that a model loaded with
 * `weights: 'on-demand'` reads again when the next segment needs them.
 */
function segmentsOfState(
  config: GPTConfigInput,
  state: (include: (key: string) => boolean) => Map<string, Tensor>,
  release: () => void,
): GPTSegments {
  return {
    config: resolveGPTConfig(config),
    segment: (layers) => {
      const made = state((key) => segmentKey(key, layers, config.numLayers) !== undefined);
      // Tensors the source model would read again are held by the segment instead.
      for (const [key, tensor] of made) made.set(key, heldTensor(tensor));
      release();
      return loadGptSegment(config, layers, made);
    },
  };
}
