import { type GPT2LMHeadModel, validateBatch } from '@ptq/hf-gpt2';
import { createTensor, type Tensor } from '@ptq/tensor';
import type { GPT2CalibrationModel, GPT2ForwardLoop } from './calibration-model';

/** One batch a forward loop ran, checked as the model's forward checks it. */
export interface RecordedBatch {
  readonly inputIds: Tensor<'int64'>;
  readonly attentionMask: Tensor<'int64'>;
  /** Flat indices b·sequence + p of the real tokens. */
  readonly realTokenIndices: readonly number[];
}

/**
 * Runs the forward loop once against a calibration model that records each batch (ids and mask,
 * a few bytes a token) instead of running it, so calibration can then replay the batches block by
 * block. A batch is checked when the loop forwards it, so a bad batch fails inside the loop as it
 * would with the whole model.
 */
export async function recordBatches(
  model: GPT2LMHeadModel,
  forwardLoop: GPT2ForwardLoop,
  onBatch?: (batches: number) => void,
): Promise<RecordedBatch[]> {
  const batches: RecordedBatch[] = [];
  const recorder: GPT2CalibrationModel = {
    config: model.config,
    tokenizer: model.tokenizer,
    async forward(inputIds, attentionMask) {
      const mask = attentionMask ?? onesLike(inputIds);
      const { realTokenIndices } = validateBatch(model.config, inputIds, mask);
      // Copies: a loop may reuse its buffers for the next batch.
      batches.push({
        inputIds: createTensor('int64', [...inputIds.shape], inputIds.data.slice()),
        attentionMask: createTensor('int64', [...mask.shape], mask.data.slice()),
        realTokenIndices,
      });
      onBatch?.(batches.length);
    },
  };
  await forwardLoop(recorder);
  return batches;
}

export function onesLike(inputIds: Tensor<'int64'>): Tensor<'int64'> {
  return createTensor('int64', inputIds.shape, new BigInt64Array(inputIds.data.length).fill(1n));
}
