import { type Gpt2Config, gpt2LinearPaths, gpt2ParameterShape } from '@ptq/hf-gpt2';
import type { QuantMode } from '@ptq/nanogpt';
import { foldingLayerNorm } from './modelopt-state';

/** One linear of the runtime GPT: its path, shape and whether the runtime quantizes it in this mode. */
export interface LinearSlot {
  readonly path: string;
  readonly outFeatures: number;
  readonly inFeatures: number;
  readonly quantized: boolean;
  /** A Hugging Face Conv1D, stored `[in, out]` when left unquantized. */
  readonly conv1d: boolean;
  /** Its AWQ pre-quant scale may have been folded into the LayerNorm before it. */
  readonly foldable: boolean;
}

/**
 * The linears of a GPT-2 checkpoint in forward order, from hf-gpt2's layout (paths and the shapes
 * Hugging Face stores: Conv1D `[in, out]`, `lm_head` `[vocab, embed]`). The runtime quantizes every
 * block linear, and `lm_head` only in float8 (as the Tripy example does).
 */
export function linearSlots(config: Gpt2Config, mode: QuantMode): LinearSlot[] {
  return gpt2LinearPaths(config.n_layer).map((path) => {
    const [rows = 0, columns = 0] = gpt2ParameterShape(config, `${path}.weight`) ?? [];
    const conv1d = path !== 'lm_head';
    return {
      path,
      outFeatures: conv1d ? columns : rows,
      inFeatures: conv1d ? rows : columns,
      quantized: conv1d || mode === 'float8',
      conv1d,
      foldable: foldingLayerNorm(path) !== undefined,
    };
  });
}
