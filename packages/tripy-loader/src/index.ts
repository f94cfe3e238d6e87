export { WeightMappingError } from './errors';
export { type GptConfigFromHfOptions, gptConfigFromHf } from './gpt-config-from-hf';
export {
  type LoadQuantWeightsOptions,
  type LoadQuantWeightsParameters,
  type LoadQuantWeightsResult,
  loadQuantWeights,
  loadQuantWeightsFromHf,
  quantizedStateToRuntime,
  type RuntimeWeights,
  runtimeCodes,
  runtimeWeight,
} from './load-quant-weights-from-hf';
export { hfStateToRuntime, type LoadWeightsOptions, loadWeightsFromHf } from './load-weights-from-hf';
export { isAttentionBuffer, renameQuantizerKey } from './rename-quantizer-key';
export { hfRuntimeSegments, quantizedRuntimeSegments } from './runtime-segments';
