import { Module } from '@ptq/module-path';
import { releaseTensor, type Tensor, transposeTensor } from '@ptq/tensor';
import type { GraphLinear } from '../graph-linear';

/** nn.Linear: weight [out, in], optional bias [out]. GPT-2 uses it for `lm_head` (no bias). */
export class Linear extends Module implements GraphLinear {
  #transposed: { source: Tensor<'float32'>; value: Tensor<'float32'> } | undefined;

  constructor(
    public weight: Tensor<'float32'>,
    public bias: Tensor<'float32'> | undefined = undefined,
  ) {
    super();
  }

  get inFeatures(): number {
    return this.weight.shape[1] ?? 0;
  }

  get outFeatures(): number {
    return this.weight.shape[0] ?? 0;
  }

  /** As it is stored, [out, in]. */
  graphWeightRows(): Tensor<'float32'> {
    return this.weight;
  }

  /** Releases a weight and bias that can be read again, and the transposed copy made from them. */
  releaseWeights(): void {
    this.#transposed = undefined;
    releaseTensor(this.weight);
    releaseTensor(this.bias);
  }

  /**
   * The weight transposed to [in, out], computed once per weight tensor (assigning a new `weight`
   * recomputes it; changing the old tensor's values in place does not).
   */
  graphWeight(): Tensor<'float32'> {
    if (this.#transposed?.source !== this.weight) {
      this.#transposed = { source: this.weight, value: transposeTensor(this.weight) };
    }
    return this.#transposed.value;
  }
}
