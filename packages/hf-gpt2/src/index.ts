// `firstNonFinite` lives in @ptq/tensor now; re-exported where it was.
export { firstNonFinite } from '@ptq/tensor';
export { type Gpt2Config, MAX_CONFIG_SIZE, parseGpt2Config, readGpt2Config } from './config';
export {
  ConfigError,
  MissingTokenizerError,
  type MissingWeightsDetails,
  MissingWeightsError,
  ModelNotFoundError,
  NonFiniteWeightError,
  NotGraphLinearError,
  ShapeMismatchError,
  TokenizerMismatchError,
  UnexpectedWeightsError,
  WeightDtypeError,
} from './errors';
export {
  type ForwardOptions,
  type ForwardResult,
  GPT2LMHeadModel,
  type GPT2LMHeadModelOptions,
} from './gpt2-lm-head-model';
export {
  buildGpt2BlockGraph,
  DELTA,
  DELTA_OUT,
  type Gpt2BlockGraph,
  type Gpt2BlockGraphOptions,
  RESIDUAL,
  RESIDUAL_OUT,
} from './graph/build-gpt2-block-graph';
export {
  buildGpt2Graph,
  type Gpt2Graph,
  type Gpt2GraphOptions,
  type Gpt2GraphSource,
  type TapOutputNames,
} from './graph/build-gpt2-graph';
export { type EmbeddedBatch, embedBatch, embedRowSumInto } from './graph/embed-batch';
export { fakeQuantize, type InputQuantizer } from './graph/fake-quant';
export {
  type BlockHiddenState,
  type DeviceHiddenState,
  disposeHiddenState,
  type Gpt2BlockRunInput,
  type Gpt2BlockRunResult,
  Gpt2BlockSession,
  type Gpt2BlockSessionOptions,
} from './graph/gpt2-block-session';
export {
  attentionHeadGroupsFor,
  type Gpt2GraphParts,
  type Gpt2GraphPartsOptions,
  gpt2GraphParts,
} from './graph/gpt2-graph-parts';
export { type NormalizedTap, normalizeTaps, type TapRequest, type TapResult } from './graph/taps';
export { type ValidatedBatch, validateBatch } from './graph/validate-batch';
export { type GraphLinear, isGraphLinear, type LinearModule } from './graph-linear';
export { gpt2BlockOfLinear, gpt2LinearPaths } from './linear-paths';
export { type LoadHfGpt2Options, loadHfGpt2, type WeightResidence } from './load-hf-gpt2';
export { Conv1D } from './modules/conv1d';
export { Embedding } from './modules/embedding';
export { GPT2Attention, GPT2Block, GPT2MLP } from './modules/gpt2-block';
export { GPT2Model } from './modules/gpt2-model';
export { LayerNorm } from './modules/layer-norm';
export { Linear } from './modules/linear';
export {
  countWindows,
  logitsScorer,
  logSoftmaxAt,
  type PerplexityOptions,
  type PerplexityProgress,
  type PerplexityResult,
  perplexity,
  type WindowScorer,
} from './perplexity';
export { type ReleasesWeights, releaseWeights, residentWeights } from './release-weights';
export {
  looksLikePath,
  type ResolvedModelFolder,
  type ResolveModelFolderOptions,
  resolveModelFolder,
} from './resolve-model-folder';
export {
  loadGpt2Tokenizer,
  MAX_TOKENIZER_CONFIG_BYTES,
  MAX_TOKENIZER_JSON_BYTES,
  TOKENIZER_FILES,
} from './tokenizer';
export { checkTokenizerFitsModel, type TokenizerFiles } from './tokenizer-fits-model';
export { assertFiniteWeight } from './weights/assert-finite-weight';
export {
  canonicalParameterName,
  type Gpt2Parameter,
  gpt2ParameterCount,
  gpt2ParameterShape,
  gpt2Parameters,
  isAttentionBuffer,
  iterateGpt2Parameters,
} from './weights/gpt2-parameters';
export {
  type Gpt2Weights,
  type LoadGpt2WeightsOptions,
  loadGpt2Weights,
  type OpenedGpt2Weights,
  openGpt2Weights,
} from './weights/load-gpt2-weights';
