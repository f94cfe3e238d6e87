import { castTensor, type FloatDType, toFloat32 } from './convert';
import { createTensor, type Tensor } from './tensor';

/**
 * A cast to `dtype` that remembers each source tensor, so tensors tied to one another (GPT-2's
 * `lm_head` and `wte`) stay one tensor after the cast, and a tensor already in `dtype` is returned
 * as it is.
 */
export function castOnce(dtype: FloatDType): (tensor: Tensor) => Tensor {
  const done = new Map<Tensor, Tensor>();
  return (tensor) => {
    let result = done.get(tensor);
    if (result === undefined) {
      if (tensor.dtype === dtype) result = tensor;
      else if (dtype === 'float32') result = createTensor('float32', tensor.shape, toFloat32(tensor));
      else result = castTensor(tensor, dtype);
      done.set(tensor, result);
    }
    return result;
  };
}
