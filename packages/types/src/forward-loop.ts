import type { Tensor } from '@ptq/tensor';

/** What a forward loop drives: one forward per batch. Whatever it returns is awaited and dropped. */
export interface CalibrationModel {
  forward(inputIds: Tensor<'int64'>, attentionMask: Tensor<'int64'>): Promise<unknown>;
}

/**
 * A calibration loop, as ModelOpt's `forward_loop(model)`: it runs every batch through
 * `model.forward`. `Model` is what the caller hands the loop; a loop written for the plain
 * `CalibrationModel` works wherever a richer model is handed.
 */
export type ForwardLoop<Model extends CalibrationModel = CalibrationModel> = (model: Model) => Promise<void>;
