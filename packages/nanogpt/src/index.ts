export { createXoshiro128, type RandomSource, xoshiro128FromState } from '@ptq/tensor';
export {
  type GPTConfig,
  type GPTConfigInput,
  MODEL_DTYPES,
  type ModelDType,
  QUANT_MODES,
  type QuantMode,
  resolveGPTConfig,
} from './config';
export { KernelDeviceError, StateDictError, type StateDictProblem, WeightValueError } from './errors';
export {
  type GenerateOptions,
  type GenerateResult,
  type GenerateTimings,
  generate,
} from './generate/generate';
export { argmax, type SampleOptions, sampleToken, topKIndices } from './generate/sampling';
export type { GraphOperators } from './graph/blocks';
export { type BuildGraphOptions, buildGptGraph } from './graph/build-gpt-graph';
export { buildSegmentGraph, type SegmentGraphOptions } from './graph/build-segment-graph';
export { GraphContext } from './graph/graph-context';
export {
  ATTENTION_MASK,
  INPUT_IDS,
  LOGITS,
  POSITION_IDS,
  pastKeyName,
  pastValueName,
  presentKeyName,
  presentValueName,
} from './graph/graph-io';
export { MATMUL_NBITS_BLOCK_SIZES, packMatMulNBits } from './graph/matmul-nbits';
export {
  defaultWeightFormat,
  resolveWeightFormat,
  WEIGHT_FORMATS,
  type WeightFormat,
  weightFormatsFor,
} from './graph/weight-format';
export { type InitializeWeightsOptions, initializeWeights } from './initialize-weights';
export {
  type KernelDevice,
  type RequestKernelDeviceOptions,
  requestKernelDevice,
  sharedKernelDevice,
  watchDeviceErrors,
} from './kernels/dawn-device';
export { KernelCache, KernelGPT, MAX_KERNEL_BATCH } from './kernels/kernel-gpt';
export { Block, CausalSelfAttention, MLP } from './modules/block';
export { Embedding } from './modules/embedding';
export { GPT, type GPTTransformer } from './modules/gpt';
export { type LayerRange, loadGptSegment, segmentKey } from './modules/gpt-segment';
export { LayerNorm } from './modules/layer-norm';
export {
  INT4_BLOCK_SIZE,
  Linear,
  type LinearOptions,
  QUANT_DTYPES,
  type QuantDType,
  weightScaleShape,
} from './modules/linear';
export { holdsCodes, linearCodes, scaleLayoutOf } from './modules/linear-codes';
export { ParameterModule } from './modules/parameters';
export { type CompileOptions, compile, ENGINES, type Engine } from './runtime/compile';
export {
  CompiledGPT,
  type ForwardOutput,
  type PrefillOptions,
  type PrefillOutput,
} from './runtime/compiled-gpt';
export { KeyValueCache } from './runtime/key-value-cache';
export type { DecodeCache, RuntimeGPT } from './runtime/runtime-gpt';
export {
  DEFAULT_SEGMENT_BYTES,
  DEFAULT_SEGMENT_EXTERNAL_DATA_ABOVE,
  type GPTSegments,
  type ScoredWindow,
  type SegmentedScoringOptions,
  scoreWindowsBySegments,
  segmentedWindowScorer,
  segmentRanges,
  segmentsOf,
} from './runtime/segmented-scorer';
export { type RuntimeWindowScorer, windowScorer } from './runtime/window-scorer';
export { collectStateDict } from './state-dict/collect-state-dict';
export {
  type LoadStateDictOptions,
  type LoadStateDictResult,
  loadStateDict,
  type StateDictInput,
} from './state-dict/load-state-dict';
