import type { GPT2LMHeadModel, TapRequest, TapResult } from '@ptq/hf-gpt2';
import type { Tensor } from '@ptq/tensor';
import type { CalibrationModel as PlainCalibrationModel, ForwardLoop as PlainForwardLoop } from '@ptq/types';
import { onesLike } from './record-batches';

/**
 * What a forward loop receives during calibration, like the model ModelOpt hands to `forward_loop`:
 * it forwards batches through the model being quantized while ptq records what calibration needs.
 * A `CalibrationModel` (`@ptq/types`) that is a GPT-2 model's, so it also carries the model's config
 * and tokenizer, and lets a loop leave out the mask.
 */
export interface GPT2CalibrationModel extends PlainCalibrationModel {
  readonly config: GPT2LMHeadModel['config'];
  readonly tokenizer: GPT2LMHeadModel['tokenizer'];
  /** Runs one batch; `attentionMask` defaults to all ones. */
  forward(inputIds: Tensor<'int64'>, attentionMask?: Tensor<'int64'>): Promise<void>;
}

/** A user-supplied calibration loop, as ModelOpt's `forward_loop(model)`; any `ForwardLoop` of `@ptq/types` is one. */
export type GPT2ForwardLoop = PlainForwardLoop<GPT2CalibrationModel>;

/** @deprecated Use `GPT2CalibrationModel`; `CalibrationModel` of `@ptq/types` names the plain model a loop drives. */
export type CalibrationModel = GPT2CalibrationModel;

/** @deprecated Use `GPT2ForwardLoop`; `ForwardLoop` of `@ptq/types` names the plain loop. */
export type ForwardLoop = GPT2ForwardLoop;

/**
 * Forwards each batch with the given taps (no logits) and hands the tap results to `onBatch`;
 * `unpackedWeights` as `model.forward` takes it.
 */
export function tappedModel(
  model: GPT2LMHeadModel,
  taps: readonly TapRequest[],
  onBatch: (taps: Map<string, TapResult>) => void,
  { unpackedWeights = false }: { readonly unpackedWeights?: boolean } = {},
): GPT2CalibrationModel {
  return {
    config: model.config,
    tokenizer: model.tokenizer,
    async forward(inputIds, attentionMask) {
      const mask = attentionMask ?? onesLike(inputIds);
      const result = await model.forward(inputIds, mask, { taps, logits: false, unpackedWeights });
      onBatch(result.taps);
    },
  };
}
