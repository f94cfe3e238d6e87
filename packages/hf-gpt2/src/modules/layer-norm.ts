import { Module } from '@ptq/module-path';
import type { Tensor } from '@ptq/tensor';

/** nn.LayerNorm over the last axis, with GPT2Config's `layer_norm_epsilon`. */
export class LayerNorm extends Module {
  constructor(
    public weight: Tensor<'float32'>,
    public bias: Tensor<'float32'>,
    public readonly epsilon: number,
  ) {
    super();
  }
}
