import { InvalidArgumentError } from '@ptq/errors';
import { MODEL_DTYPES, type ModelDType, QUANT_MODES, type QuantMode } from '@ptq/types';

// Defined once in @ptq/types; exported here too, where they always were. A `quantMode` of `undefined` is unquantized.
export { MODEL_DTYPES, type ModelDType, QUANT_MODES, type QuantMode };

/** What `new GPT(config)` accepts; omitted fields take the defaults documented on each field. */
export interface GPTConfigInput {
  /** Transformer blocks (GPT-2: 12). */
  numLayers: number;
  /** Attention heads; must divide `embeddingSize` (GPT-2: 12). */
  numHeads: number;
  /** Width of the residual stream (GPT-2: 768). */
  embeddingSize: number;
  /** Token vocabulary (GPT-2: 50257). */
  vocabSize: number;
  /** Positions the model knows, the rows of `wpe` (GPT-2: 1024). */
  blockSize: number;
  /** Biases in the linears and layer norms (default true, as GPT-2). */
  bias?: boolean;
  /** Default 'float32'. */
  dtype?: ModelDType;
  /** Default undefined: unquantized. */
  quantMode?: QuantMode | undefined;
  /** LayerNorm epsilon (default 1e-5, GPT-2's `layer_norm_epsilon`). */
  layerNormEpsilon?: number;
  /** End-of-text token, used to pad batch rows and to stop generation (default `vocabSize - 1`, GPT-2's 50256). */
  eosTokenId?: number;
}

/** A validated configuration with every default filled in. */
export interface GPTConfig {
  readonly numLayers: number;
  readonly numHeads: number;
  readonly embeddingSize: number;
  readonly vocabSize: number;
  readonly blockSize: number;
  readonly bias: boolean;
  readonly dtype: ModelDType;
  readonly quantMode: QuantMode | undefined;
  readonly layerNormEpsilon: number;
  readonly eosTokenId: number;
}

function positiveInteger(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new InvalidArgumentError(`config.${name}`, `must be a positive integer, got ${String(value)}`);
  }
  return value;
}

/** Checks a configuration and fills in its defaults; every bad field is an `InvalidArgumentError` naming it. */
export function resolveGPTConfig(input: GPTConfigInput): GPTConfig {
  if (typeof input !== 'object' || input === null) {
    throw new InvalidArgumentError('config', `must be an object, got ${String(input)}`);
  }
  const numLayers = positiveInteger('numLayers', input.numLayers);
  const numHeads = positiveInteger('numHeads', input.numHeads);
  const embeddingSize = positiveInteger('embeddingSize', input.embeddingSize);
  const vocabSize = positiveInteger('vocabSize', input.vocabSize);
  const blockSize = positiveInteger('blockSize', input.blockSize);
  if (embeddingSize % numHeads !== 0) {
    throw new InvalidArgumentError(
      'config.numHeads',
      `must divide embeddingSize ${embeddingSize}, got ${numHeads}`,
    );
  }
  const bias = input.bias ?? true;
  if (typeof bias !== 'boolean') {
    throw new InvalidArgumentError('config.bias', `must be a boolean, got ${String(bias)}`);
  }
  const dtype = input.dtype ?? 'float32';
  if (!MODEL_DTYPES.includes(dtype)) {
    throw new InvalidArgumentError(
      'config.dtype',
      `must be one of ${MODEL_DTYPES.join(', ')}, got ${String(dtype)}`,
    );
  }
  const quantMode = input.quantMode;
  if (quantMode !== undefined && !QUANT_MODES.includes(quantMode)) {
    throw new InvalidArgumentError(
      'config.quantMode',
      `must be one of ${QUANT_MODES.join(', ')} or undefined, got ${String(quantMode)}`,
    );
  }
  const layerNormEpsilon = input.layerNormEpsilon ?? 1e-5;
  if (typeof layerNormEpsilon !== 'number' || !(layerNormEpsilon > 0) || !Number.isFinite(layerNormEpsilon)) {
    throw new InvalidArgumentError(
      'config.layerNormEpsilon',
      `must be a positive finite number, got ${String(layerNormEpsilon)}`,
    );
  }
  const eosTokenId = input.eosTokenId ?? vocabSize - 1;
  if (!Number.isSafeInteger(eosTokenId) || eosTokenId < 0 || eosTokenId >= vocabSize) {
    throw new InvalidArgumentError(
      'config.eosTokenId',
      `must be a token id in [0, ${vocabSize - 1}], got ${String(eosTokenId)}`,
    );
  }
  return {
    numLayers,
    numHeads,
    embeddingSize,
    vocabSize,
    blockSize,
    bias,
    dtype,
    quantMode,
    layerNormEpsilon,
    eosTokenId,
  };
}
