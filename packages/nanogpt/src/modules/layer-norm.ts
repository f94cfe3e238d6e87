import type { Tensor } from '@ptq/tensor';
import type { ModelDType } from '../config';
import { filledTensor, ParameterModule } from './parameters';

/** LayerNorm over the last axis: `(x - mean) / sqrt(var + epsilon) * weight + bias`, bias optional. */
export class LayerNorm extends ParameterModule {
  readonly width: number;
  readonly epsilon: number;
  weight: Tensor;
  bias: Tensor | undefined;

  constructor(width: number, options: { dtype: ModelDType; bias: boolean; epsilon: number }) {
    super();
    this.width = width;
    this.epsilon = options.epsilon;
    this.weight = filledTensor(options.dtype, [width], 1);
    this.bias = options.bias ? filledTensor(options.dtype, [width], 0) : undefined;
  }

  override parameterNames(): readonly string[] {
    return this.bias === undefined ? ['weight'] : ['weight', 'bias'];
  }
}
