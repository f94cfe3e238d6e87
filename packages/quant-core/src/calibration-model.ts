import type { GPT2LMHeadModel, TapRequest, TapResult } from '@ptq/hf-gpt2';
import type { Tensor } from '@ptq/tensor';
import { onesLike } from './record-batches';

/**
 * What a forward loop receives during calibration, like the model ModelOpt hands to `forward_loop`:
 * it forwards batches through the model being quantized while ptq records what calibration needs.
 */
export interface CalibrationModel {
  readonly config: GPT2LMHeadModel['config'];
  readonly tokenizer: GPT2LMHeadModel['tokenizer'];
  /** Runs one batch; `attentionMask` defaults to all ones. */
  forward(inputIds: Tensor<'int64'>, attentionMask?: Tensor<'int64'>): Promise<void>;
}

/** A user-supplied calibration loop, as ModelOpt's `forward_loop(model)`. */
export type ForwardLoop = (model: CalibrationModel) => Promise<void>;

/** Forwards each batch with the given taps (no logits) and hands the tap results to `onBatch`. */
export function tappedModel(
  model: GPT2LMHeadModel,
  taps: readonly TapRequest[],
  onBatch: (taps: Map<string, TapResult>) => void,
): CalibrationModel {
  return {
    config: model.config,
    tokenizer: model.tokenizer,
    async forward(inputIds, attentionMask) {
      const mask = attentionMask ?? onesLike(inputIds);
      const result = await model.forward(inputIds, mask, { taps, logits: false });
      onBatch(result.taps);
    },
  };
}
