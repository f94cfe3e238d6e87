import { Module } from '@ptq/module-path';
import type { Tensor } from '@ptq/tensor';

/** nn.Embedding: `weight` is [numEmbeddings, embeddingDim]. */
export class Embedding extends Module {
  constructor(public weight: Tensor<'float32'>) {
    super();
  }

  get numEmbeddings(): number {
    return this.weight.shape[0] ?? 0;
  }

  get embeddingDim(): number {
    return this.weight.shape[1] ?? 0;
  }
}
