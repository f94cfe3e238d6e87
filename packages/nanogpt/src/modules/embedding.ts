import type { Tensor } from '@ptq/tensor';
import type { ModelDType } from '../config';
import { filledTensor, ParameterModule } from './parameters';

/** A lookup table: row `i` of `weight` `[count, width]` is the vector of id `i`. */
export class Embedding extends ParameterModule {
  readonly count: number;
  readonly width: number;
  weight: Tensor;

  constructor(count: number, width: number, dtype: ModelDType) {
    super();
    this.count = count;
    this.width = width;
    this.weight = filledTensor(dtype, [count, width], 0);
  }

  override parameterNames(): readonly string[] {
    return ['weight'];
  }
}
