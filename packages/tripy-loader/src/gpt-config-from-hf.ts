import { InvalidArgumentError } from '@ptq/errors';
import type { Gpt2Config } from '@ptq/hf-gpt2';
import type { GPTConfigInput, ModelDType, QuantMode } from '@ptq/nanogpt';

export interface GptConfigFromHfOptions {
  /** Default 'float32'. */
  readonly dtype?: ModelDType;
  /** Default undefined: unquantized. */
  readonly quantMode?: QuantMode | undefined;
}

/**
 * The runtime GPT's configuration for a Hugging Face GPT-2 config: layers, heads, width, vocabulary,
 * positions, LayerNorm epsilon and end-of-text token. The runtime's MLP is 4 × `n_embd` wide, so a
 * config with another `n_inner` is refused.
 */
export function gptConfigFromHf(hfConfig: Gpt2Config, options: GptConfigFromHfOptions = {}): GPTConfigInput {
  if (hfConfig.n_inner !== 4 * hfConfig.n_embd) {
    throw new InvalidArgumentError(
      'hfConfig.n_inner',
      `the runtime GPT's MLP is 4 · n_embd = ${4 * hfConfig.n_embd} wide, got n_inner ${hfConfig.n_inner}`,
    );
  }
  return {
    numLayers: hfConfig.n_layer,
    numHeads: hfConfig.n_head,
    embeddingSize: hfConfig.n_embd,
    vocabSize: hfConfig.vocab_size,
    blockSize: hfConfig.n_positions,
    bias: true,
    dtype: options.dtype ?? 'float32',
    quantMode: options.quantMode,
    layerNormEpsilon: hfConfig.layer_norm_epsilon,
    eosTokenId: hfConfig.eos_token_id ?? hfConfig.vocab_size - 1,
  };
}
