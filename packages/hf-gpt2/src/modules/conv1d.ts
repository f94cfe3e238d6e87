import { Module } from '@ptq/module-path';
import type { Tensor } from '@ptq/tensor';
import type { GraphLinear } from '../graph-linear';

/**
 * transformers' GPT-2 `Conv1D`: a linear layer whose weight is stored [in, out] (the transpose of
 * nn.Linear), kept that way here as the checkpoint stores it.
 */
export class Conv1D extends Module implements GraphLinear {
  constructor(
    public weight: Tensor<'float32'>,
    public bias: Tensor<'float32'>,
  ) {
    super();
  }

  get inFeatures(): number {
    return this.weight.shape[0] ?? 0;
  }

  get outFeatures(): number {
    return this.weight.shape[1] ?? 0;
  }

  /** Already [in, out]: the graph multiplies by it as it is. */
  graphWeight(): Tensor<'float32'> {
    return this.weight;
  }
}
